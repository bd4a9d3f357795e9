/**
 * IAM policy documents the components share. Pure functions.
 */

/** The trust policy of a role that the AWS service `service` (e.g. ec2.amazonaws.com) assumes. */
export function serviceTrustPolicy(service: string, actions: readonly string[] = ["sts:AssumeRole"]): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: actions.length === 1 ? actions[0] : [...actions] }],
    });
}

/**
 * GetSecretValue on one secret, and kms:Decrypt with its customer key only through Secrets
 * Manager in the secret's region (the key policy delegates to IAM; an AWS managed key
 * needs no grant).
 */
export function readSecretPolicy(sid: string, secretArn: string, kmsKeyArn?: string): object {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: sid, Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secretArn },
            ...(kmsKeyArn
                ? [
                      {
                          Sid: "DecryptThroughSecretsManager",
                          Effect: "Allow",
                          Action: "kms:Decrypt",
                          Resource: kmsKeyArn,
                          Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${regionOfArn(secretArn)}.amazonaws.com` } },
                      },
                  ]
                : []),
        ],
    };
}

/** The region field of an ARN (`arn:partition:service:region:account:resource`). */
function regionOfArn(arn: string): string {
    return arn.split(":")[3];
}
