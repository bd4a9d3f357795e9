import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { parse } from "yaml";
import { elbLogDeliveryPrincipal, ELB_LOG_DELIVERY_SERVICE } from "../lib/elbLogDelivery";
import {
    API_BIND,
    API_ENV_FILE,
    BOOTSTRAP_SCRIPT,
    parseReleaseUri,
    renderWebUserData,
    userDataProblems,
    WebUserDataOptions,
    WEB_ROOT,
} from "../lib/webUserData";
import { cloudInitSchema } from "./support/cloudInit";

interface WriteFile {
    path: string;
    content: string;
    permissions: string;
    defer?: boolean;
}

function fileOf(doc: any, filePath: string): WriteFile {
    const found = (doc.write_files as WriteFile[]).find((f) => f.path === filePath);
    assert.ok(found, `write_files has ${filePath}`);
    return found;
}

describe("web user data (lib/webUserData.ts)", () => {
    const cases: { title: string; options: WebUserDataOptions; packages: boolean; bundle?: string }[] = [
        { title: "baked AMI", options: { source: "bakedAmi", healthCheckPath: "/api/health" }, packages: false },
        {
            title: "release bundle",
            options: {
                source: "releaseBundle",
                healthCheckPath: "/api/health",
                artifactUri: "s3://shop-releases-us-east-2/web/web-1.4.2.tar.gz",
            },
            packages: true,
            bundle: "s3://shop-releases-us-east-2/web/web-1.4.2.tar.gz",
        },
        { title: "no release bundle", options: { source: "releaseBundle", healthCheckPath: "/healthz" }, packages: true },
        {
            title: "release bundle with app settings",
            options: {
                source: "releaseBundle",
                healthCheckPath: "/api/v1/health",
                artifactUri: "s3://b-1/web.tar.gz",
                environment: {
                    DB_WRITER_HOST: "writer.db.ecommerce.internal",
                    DB_SECRET_ARN: "arn:aws:secretsmanager:us-east-2:123456789012:secret:db-AbCdEf",
                },
            },
            packages: true,
            bundle: "s3://b-1/web.tar.gz",
        },
    ];

    for (const c of cases) {
        describe(c.title, () => {
            const text = renderWebUserData(c.options);
            const doc = parse(text);

            it("starts with #cloud-config and passes cloud-init schema", () => {
                assert.equal(text.split("\n")[0], "#cloud-config");
                const result = cloudInitSchema(text);
                assert.equal(result.status, 0, result.output);
                assert.match(result.output, /Valid cloud-config/);
            });

            it(c.packages ? "installs nginx, Python and the AWS CLI" : "installs nothing and only starts the services", () => {
                if (c.packages) {
                    assert.deepEqual(doc.packages, ["nginx", "python3", "python3-pip", "awscli-2", "tar"]);
                    assert.equal(doc.package_upgrade, false);
                    assert.deepEqual(doc.runcmd, [[BOOTSTRAP_SCRIPT]]);
                } else {
                    assert.equal(doc.packages, undefined);
                    assert.deepEqual(doc.runcmd, [["systemctl", "enable", "--now", "ecommerce-api.service", "nginx.service"]]);
                    assert.deepEqual(
                        (doc.write_files as WriteFile[]).map((f) => f.path),
                        [API_ENV_FILE],
                    );
                }
            });

            it("writes the health path and the app settings to the environment file", () => {
                const env = fileOf(doc, API_ENV_FILE);
                assert.equal(env.permissions, "0644");
                const lines = env.content.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
                const expected = { HEALTH_CHECK_PATH: c.options.healthCheckPath, ...(c.options.environment ?? {}) };
                assert.deepEqual(
                    lines,
                    Object.keys(expected)
                        .sort()
                        .map((k) => `${k}=${(expected as Record<string, string>)[k]}`),
                );
            });

            if (c.packages) {
                it(`serves ${WEB_ROOT} and proxies /api/ and ${c.options.healthCheckPath} to gunicorn on ${API_BIND}`, () => {
                    const site = fileOf(doc, "/etc/nginx/conf.d/shop.conf");
                    assert.equal(site.defer, true, "written after the nginx package");
                    assert.match(site.content, new RegExp(`root ${WEB_ROOT};`));
                    assert.match(site.content, /listen 80 default_server;/);
                    const health = site.content.split(`location = ${c.options.healthCheckPath} {`)[1]?.split("}")[0];
                    assert.ok(health, "an exact location for the health path");
                    assert.match(health, new RegExp(`proxy_pass http://${API_BIND};`));
                    const api = site.content.split("location /api/ {")[1]?.split("}")[0];
                    assert.ok(api, "a location for /api/");
                    assert.match(api, new RegExp(`proxy_pass http://${API_BIND};`));
                    assert.match(site.content, /try_files \$uri \$uri\/ \/index\.html;/);
                    assert.equal(fileOf(doc, "/etc/nginx/nginx.conf").defer, true);
                    assert.match(fileOf(doc, "/etc/ecommerce/gunicorn.conf.py").content, new RegExp(`bind = "${API_BIND}"`));
                    assert.match(fileOf(doc, "/etc/systemd/system/ecommerce-api.service").content, /^User=ecommerce$/m);
                });

                it(
                    c.bundle ? `fetches ${c.bundle} and starts nginx and the API` : "says no release is configured and starts nginx alone",
                    () => {
                        const script = fileOf(doc, BOOTSTRAP_SCRIPT);
                        assert.equal(script.permissions, "0755");
                        assert.match(script.content, /^#!\/bin\/bash\n/);
                        assert.match(script.content, /^set -euo pipefail$/m);
                        if (c.bundle) {
                            assert.match(script.content, new RegExp(`^artifact_uri="${c.bundle.replace(/[.]/g, "\\.")}"$`, "m"));
                            assert.match(script.content, /aws s3 cp --only-show-errors "\$artifact_uri"/);
                            assert.match(script.content, /^systemctl enable --now ecommerce-api\.service nginx\.service$/m);
                        } else {
                            assert.doesNotMatch(script.content, /aws s3 cp/);
                            assert.match(script.content, /no release bundle configured/);
                            assert.match(script.content, /^systemctl enable --now nginx\.service$/m);
                        }
                        const bash = spawnSync("bash", ["-n"], { input: script.content, encoding: "utf8" });
                        assert.equal(bash.status, 0, `bash -n: ${bash.stderr}`);
                    },
                );
            }
        });
    }

    it("fails cloud-init schema for a document with a wrongly typed key (the check is real)", () => {
        const broken = renderWebUserData({ source: "releaseBundle", healthCheckPath: "/api/health" }).replace(
            "package_upgrade: false",
            "package_upgrade: sometimes",
        );
        const result = cloudInitSchema(broken);
        assert.notEqual(result.status, 0);
        assert.match(result.output, /package_upgrade: 'sometimes' is not of type 'boolean'/);
    });

    const rejected: { title: string; options: WebUserDataOptions; problem: string }[] = [
        {
            title: "a secret-looking setting",
            options: { source: "bakedAmi", healthCheckPath: "/api/health", environment: { DB_PASSWORD: "hunter2" } },
            problem:
                "environment DB_PASSWORD looks like a secret: user data is readable by anyone who can describe the instance; pass the secret's ARN or name (e.g. DB_PASSWORD_ARN) and read it from Secrets Manager at runtime",
        },
        {
            title: "an API key setting",
            options: { source: "bakedAmi", healthCheckPath: "/api/health", environment: { STRIPE_API_KEY: "sk_live_x" } },
            problem:
                "environment STRIPE_API_KEY looks like a secret: user data is readable by anyone who can describe the instance; pass the secret's ARN or name (e.g. STRIPE_API_KEY_ARN) and read it from Secrets Manager at runtime",
        },
        {
            title: "an AWS access key under an innocent name",
            options: { source: "bakedAmi", healthCheckPath: "/api/health", environment: { UPLOADER: "AKIAABCDEFGHIJKLMNOP" } },
            problem: "environment UPLOADER holds a private key or an AWS access key: never put credentials in user data",
        },
        {
            title: "a value that would need quoting",
            options: { source: "bakedAmi", healthCheckPath: "/api/health", environment: { GREETING: "hello world" } },
            problem:
                'environment GREETING = "hello world": expected printable characters without spaces, quotes, backslashes, $ or backticks',
        },
        {
            title: "a lower-case setting name",
            options: { source: "bakedAmi", healthCheckPath: "/api/health", environment: { db_host: "x" } },
            problem: 'environment name "db_host" is not an upper-case variable name (A-Z, 0-9, _)',
        },
        {
            title: "a release bundle with a baked AMI",
            options: { source: "bakedAmi", healthCheckPath: "/api/health", artifactUri: "s3://b-1/web.tar.gz" },
            problem:
                'artifactUri "s3://b-1/web.tar.gz" is set with a baked AMI: the AMI carries the application, so leave artifactUri unset',
        },
        {
            title: "a release bundle that is not an S3 tarball",
            options: { source: "releaseBundle", healthCheckPath: "/api/health", artifactUri: "https://example.com/web.zip" },
            problem: 'artifactUri "https://example.com/web.zip" is not s3://<bucket>/<key>.tar.gz (key of letters, digits and ._=+-/)',
        },
        {
            title: "a release key with shell metacharacters",
            options: { source: "releaseBundle", healthCheckPath: "/api/health", artifactUri: "s3://b-1/$(reboot).tar.gz" },
            problem: 'artifactUri "s3://b-1/$(reboot).tar.gz" is not s3://<bucket>/<key>.tar.gz (key of letters, digits and ._=+-/)',
        },
        {
            title: "a relative health path",
            options: { source: "releaseBundle", healthCheckPath: "api/health" },
            problem: 'healthCheckPath = "api/health": expected an absolute URL path such as /api/health',
        },
    ];
    for (const r of rejected) {
        it(`rejects ${r.title}`, () => {
            assert.deepEqual(userDataProblems(r.options), [r.problem]);
            assert.throws(() => renderWebUserData(r.options), { message: `web user data: ${r.problem}` });
        });
    }

    it("accepts settings that only point at secrets (_ARN, _NAME, _ID)", () => {
        assert.deepEqual(
            userDataProblems({
                source: "bakedAmi",
                healthCheckPath: "/api/health",
                environment: {
                    DB_SECRET_ARN: "arn:aws:secretsmanager:us-east-2:123456789012:secret:x",
                    REDIS_PASSWORD_SECRET_NAME: "ecommerce/redis",
                    TOKEN_KEY_ID: "k1",
                },
            }),
            [],
        );
    });

    const uris: [string, { bucket: string; key: string } | undefined][] = [
        ["s3://shop-releases/web/web-1.4.2.tar.gz", { bucket: "shop-releases", key: "web/web-1.4.2.tar.gz" }],
        ["s3://b-1/web.tar.gz", { bucket: "b-1", key: "web.tar.gz" }],
        ["s3://shop-releases/web.zip", undefined],
        ["s3://Shop/web.tar.gz", undefined],
        ["s3://shop-releases/", undefined],
        ["s3://shop-releases/a b.tar.gz", undefined],
        ["https://shop-releases.s3.amazonaws.com/web.tar.gz", undefined],
    ];
    for (const [uri, expected] of uris) {
        it(`parses ${uri} as ${expected ? `bucket ${expected.bucket}, key ${expected.key}` : "no release bundle"}`, () => {
            assert.deepEqual(parseReleaseUri(uri), expected);
        });
    }
});

describe("load balancer log delivery (lib/elbLogDelivery.ts)", () => {
    const table: [string, unknown][] = [
        ["us-east-2", { AWS: "arn:aws:iam::033677994240:root" }],
        ["us-west-1", { AWS: "arn:aws:iam::027434742980:root" }],
        ["us-east-1", { AWS: "arn:aws:iam::127311923021:root" }],
        ["us-west-2", { AWS: "arn:aws:iam::797873946194:root" }],
        ["ca-west-1", { Service: ELB_LOG_DELIVERY_SERVICE }],
        ["mx-central-1", { Service: ELB_LOG_DELIVERY_SERVICE }],
    ];
    for (const [region, principal] of table) {
        it(`delivers ${region}'s access logs as ${JSON.stringify(principal)}`, () => {
            assert.deepEqual(elbLogDeliveryPrincipal(region), principal);
        });
    }

    it("rejects a name that is not a region", () => {
        assert.throws(() => elbLogDeliveryPrincipal("us-east-2a"), {
            message: 'elbLogDeliveryPrincipal: "us-east-2a" is not an AWS region name like us-east-2',
        });
    });
});
