/**
 * Where machine images come from when the team has not baked one: AWS's public SSM parameter
 * naming the latest Amazon Linux 2023 for x86_64 (Amazon Linux 2023 user guide, "Launching
 * AL2023 using the SSM parameter"). Launch templates name it as `resolve:ssm:<parameter>` and
 * EC2 resolves it at each launch; single instances get the AMI ID resolved at deploy time.
 */
export const AL2023_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

/** The launch-time alias EC2 resolves (launch templates only). */
export const AL2023_AMI_ALIAS = `resolve:ssm:${AL2023_AMI_PARAMETER}`;
