import { strict as assert } from "assert";
import { ChildProcess, execFile, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { parse } from "yaml";
import {
    BOOTSTRAP_SCRIPT,
    maxmemoryMib,
    NODE_PATHS,
    PASSWORD_PLACEHOLDER,
    RedisClusterSettings,
    redisClusterProblems,
    RedisNodeSpec,
    renderRedisCloudConfig,
    renderRedisConf,
    renderSentinelConf,
} from "../lib/redisConfig";
import { requireTool } from "./support/tools";
import { freePort } from "../drill/tools";

const run = promisify(execFile);

/** Directive lines of a config file (comments and blanks dropped). */
function directives(text: string): string[] {
    return text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
}

const ARN = "arn:aws:secretsmanager:us-east-2:123456789012:secret:redis-password-5e7cd2a-AbCdEf";
const ADDRESSES = ["10.10.64.10", "10.10.80.11", "10.10.96.12"];
const spec = (address: string, overrides: Partial<RedisNodeSpec> = {}): RedisNodeSpec => ({
    address,
    clusterAddresses: ADDRESSES,
    maxmemoryMib: 5734,
    quorum: 2,
    masterName: "ecommerce-cache",
    image: "public.ecr.aws/docker/library/redis:6.2.20",
    passwordSecretId: ARN,
    region: "us-east-2",
    ...overrides,
});

interface WriteFile {
    path: string;
    owner: string;
    permissions: string;
    content: string;
}
function cloudConfig(text: string): { write_files: WriteFile[]; runcmd: string[][] } {
    return parse(text);
}
function fileOf(text: string, filePath: string): WriteFile {
    const found = cloudConfig(text).write_files.find((f) => f.path === filePath);
    assert.ok(found, `cloud-config writes ${filePath}`);
    return found;
}

describe("lib/redisConfig", () => {
    describe("maxmemoryMib", () => {
        const cases: [string, number, number][] = [
            ["t3.large", 70, 5734], // 8192 * 0.7 = 5734.4
            ["t3.medium", 50, 2048],
            ["r6i.large", 75, 12288],
            ["t3.xlarge", 90, 14745], // 14745.6 rounded down
        ];
        for (const [type, percent, expected] of cases) {
            it(`gives ${expected} MiB for ${percent}% of ${type}`, () => {
                assert.equal(maxmemoryMib(type, percent), expected);
            });
        }
        it("rejects an instance type of unknown memory", () => {
            assert.throws(
                () => maxmemoryMib("x9.huge", 70),
                /maxmemoryMib: instance type = "x9\.huge": expected an instance type with known memory \(t3\.medium, t3\.large/,
            );
        });
        it("rejects a percentage above 90", () => {
            assert.throws(() => maxmemoryMib("t3.large", 95), {
                message: "maxmemoryMib: percent = 95: expected an integer from 10 to 90 (the rest is for the OS, docker and forks)",
            });
        });
    });

    describe("redisClusterProblems", () => {
        const valid: RedisClusterSettings = {
            instanceType: "t3.large",
            nodeCount: 3,
            image: "public.ecr.aws/docker/library/redis:6.2.20",
            sentinelQuorum: 2,
            maxmemoryPercent: 70,
            masterName: "ecommerce-cache",
            rootVolumeGiB: 20,
            zoneCount: 2,
        };
        it("accepts the seed's cluster (3 x t3.large, quorum 2, pinned 6.2.20)", () => {
            assert.deepEqual(redisClusterProblems(valid), []);
        });
        it("accepts an image pinned by digest", () => {
            assert.deepEqual(redisClusterProblems({ ...valid, image: `public.ecr.aws/docker/library/redis@sha256:${"a".repeat(64)}` }), []);
        });
        const cases: [string, Partial<RedisClusterSettings>, string][] = [
            [
                "an instance type of unknown memory",
                { instanceType: "c5.large" },
                'instanceType = "c5.large": expected an instance type with known memory (t3.medium, t3.large, t3.xlarge, t3.2xlarge, m5.large, m5.xlarge, m6i.large, m6i.xlarge, m7i.large, m7i.xlarge, r5.large, r5.xlarge, r6i.large, r6i.xlarge, r7i.large, r7i.xlarge)',
            ],
            [
                "an even node count",
                { nodeCount: 4 },
                "nodeCount = 4: expected an odd integer from 3 to 9 (Sentinel needs a strict majority)",
            ],
            ["a single node", { nodeCount: 1 }, "nodeCount = 1: expected an odd integer from 3 to 9 (Sentinel needs a strict majority)"],
            [
                "a floating image tag",
                { image: "public.ecr.aws/docker/library/redis:6.2" },
                'image = "public.ecr.aws/docker/library/redis:6.2": expected an image pinned to an exact x.y.z tag or an @sha256 digest (no floating tags such as latest or 6.2)',
            ],
            [
                "the latest tag",
                { image: "redis:latest" },
                'image = "redis:latest": expected an image pinned to an exact x.y.z tag or an @sha256 digest (no floating tags such as latest or 6.2)',
            ],
            ["a quorum below the majority", { sentinelQuorum: 1 }, "sentinelQuorum = 1: expected a majority of nodeCount (2 to 3)"],
            [
                "a quorum above the node count",
                { nodeCount: 5, sentinelQuorum: 6 },
                "sentinelQuorum = 6: expected a majority of nodeCount (3 to 5)",
            ],
            [
                "maxmemory above 90%",
                { maxmemoryPercent: 95 },
                "maxmemoryPercent = 95: expected an integer from 10 to 90 (the rest is for the OS, docker and forks)",
            ],
            [
                "a master name with a space",
                { masterName: "my cache" },
                "masterName = \"my cache\": expected 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            ],
            ["a 4 GiB root volume", { rootVolumeGiB: 4 }, "rootVolumeGiB = 4: expected an integer from 8 to 16384 (GiB, gp3)"],
            ["four zones", { zoneCount: 4 }, "subnets.length = 4: expected an integer from 1 to 3 data subnets, one per zone"],
            [
                "a sentinel down-after of 50 ms",
                { downAfterMilliseconds: 50 },
                "downAfterMilliseconds = 50: expected an integer from 1000 to 600000 (milliseconds; shorter fails over on network blips)",
            ],
        ];
        for (const [what, change, message] of cases) {
            it(`rejects ${what}`, () => {
                assert.deepEqual(redisClusterProblems({ ...valid, ...change }), [message]);
            });
        }
    });

    describe("renderRedisConf", () => {
        const master = renderRedisConf({ address: "10.10.64.10", maxmemoryMib: 5734, password: PASSWORD_PLACEHOLDER });
        const replica = renderRedisConf({
            address: "10.10.80.11",
            masterAddress: "10.10.64.10",
            maxmemoryMib: 5734,
            password: PASSWORD_PLACEHOLDER,
        });
        const expectations: [string, string][] = [
            ["bind 10.10.64.10 127.0.0.1", "binds the node address first (replication source), then loopback"],
            ["port 6379", "listens on 6379"],
            ["protected-mode yes", "keeps protected mode (and overrides the image entrypoint's default)"],
            ["tcp-keepalive 300", "detects dead peers"],
            ['save ""', "takes no RDB snapshots"],
            ["appendonly no", "keeps no AOF"],
            ["maxmemory 5734mb", "caps memory at maxmemory"],
            ["maxmemory-policy allkeys-lru", "evicts least recently used keys"],
            [`requirepass ${PASSWORD_PLACEHOLDER}`, "requires the password"],
            [`masterauth ${PASSWORD_PLACEHOLDER}`, "authenticates to the master (any node may become a replica)"],
            ["replica-read-only yes", "keeps replicas read-only"],
            ["replica-announce-ip 10.10.64.10", "announces its fixed address"],
            ["dir /data", "works in the container's data volume"],
        ];
        for (const [line, what] of expectations) {
            it(`${what}: ${line}`, () => {
                assert.ok(directives(master).includes(line), master);
            });
        }
        it("starts the first node as master (no replicaof)", () => {
            assert.equal(directives(master).filter((l) => l.startsWith("replicaof")).length, 0);
        });
        it("makes the other nodes replicas of the master's fixed address", () => {
            assert.deepEqual(
                directives(replica).filter((l) => l.startsWith("replicaof")),
                ["replicaof 10.10.64.10 6379"],
            );
        });
        it("binds loopback once when the node address is loopback", () => {
            const local = renderRedisConf({ address: "127.0.0.1", port: 7000, maxmemoryMib: 100, password: "x" });
            assert.ok(directives(local).includes("bind 127.0.0.1"));
            assert.ok(directives(local).includes("port 7000"));
        });
        it("rejects a password redis.conf would have to quote", () => {
            assert.throws(() => renderRedisConf({ address: "10.0.0.1", maxmemoryMib: 100, password: "a b" }), {
                message: `renderRedisConf: password = "(hidden)": expected letters, digits, '@', '_', '.' or '-' only`,
            });
        });
        it("rejects a master given by name", () => {
            assert.throws(
                () => renderRedisConf({ address: "10.0.0.1", masterAddress: "redis-1.internal", maxmemoryMib: 100, password: "x" }),
                {
                    message: 'renderRedisConf: masterAddress = "redis-1.internal": expected an IPv4 address',
                },
            );
        });
    });

    describe("renderSentinelConf", () => {
        const conf = directives(
            renderSentinelConf({
                address: "10.10.80.11",
                masterName: "ecommerce-cache",
                masterAddress: "10.10.64.10",
                quorum: 2,
                password: PASSWORD_PLACEHOLDER,
            }),
        );
        const expectations: string[] = [
            "bind 10.10.80.11 127.0.0.1",
            "port 26379",
            "sentinel announce-ip 10.10.80.11",
            "sentinel resolve-hostnames no",
            `requirepass ${PASSWORD_PLACEHOLDER}`,
            "sentinel monitor ecommerce-cache 10.10.64.10 6379 2",
            `sentinel auth-pass ecommerce-cache ${PASSWORD_PLACEHOLDER}`,
            "sentinel down-after-milliseconds ecommerce-cache 5000",
            "sentinel failover-timeout ecommerce-cache 60000",
            "sentinel parallel-syncs ecommerce-cache 1",
        ];
        for (const line of expectations) {
            it(`contains: ${line}`, () => {
                assert.ok(conf.includes(line), conf.join("\n"));
            });
        }
        it("declares the master before its auth-pass (Redis 6.2 requires the order)", () => {
            assert.ok(conf.findIndex((l) => l.startsWith("sentinel monitor")) < conf.findIndex((l) => l.startsWith("sentinel auth-pass")));
        });
        it("rejects a quorum of 0", () => {
            assert.throws(
                () => renderSentinelConf({ address: "10.0.0.1", masterName: "m", masterAddress: "10.0.0.1", quorum: 0, password: "x" }),
                {
                    message: "renderSentinelConf: quorum = 0: expected a positive integer",
                },
            );
        });
    });

    describe("renderRedisCloudConfig", () => {
        const master = renderRedisCloudConfig(spec(ADDRESSES[0]));
        const replica = renderRedisCloudConfig(spec(ADDRESSES[1]));

        it("is a cloud-config document under EC2's 16 KiB user data limit", () => {
            assert.ok(master.startsWith("#cloud-config\n"));
            assert.ok(Buffer.byteLength(master) < 16384, `${Buffer.byteLength(master)} bytes`);
        });
        it("writes the templates, node.env and the bootstrap script root-only, and runs the script once", () => {
            const doc = cloudConfig(master);
            const modes = Object.fromEntries(doc.write_files.map((f) => [f.path, `${f.owner} ${f.permissions}`]));
            assert.deepEqual(modes, {
                [NODE_PATHS.env]: "root:root 0600",
                [NODE_PATHS.redisTemplate]: "root:root 0600",
                [NODE_PATHS.sentinelTemplate]: "root:root 0600",
                [NODE_PATHS.sysctl]: "root:root 0644",
                [NODE_PATHS.thp]: "root:root 0644",
                [NODE_PATHS.script]: "root:root 0700",
            });
            assert.deepEqual(doc.runcmd, [[NODE_PATHS.script]]);
            assert.equal(fileOf(master, NODE_PATHS.script).content, BOOTSTRAP_SCRIPT);
        });
        it("names the secret by ARN and region, and carries only the password placeholder", () => {
            const env = fileOf(master, NODE_PATHS.env).content;
            assert.ok(env.includes(`SECRET_ID='${ARN}'`));
            assert.ok(env.includes("REGION='us-east-2'"));
            const redisConf = fileOf(master, NODE_PATHS.redisTemplate).content;
            assert.ok(redisConf.includes(`requirepass ${PASSWORD_PLACEHOLDER}`));
            assert.ok(
                fileOf(master, NODE_PATHS.sentinelTemplate).content.includes(`sentinel auth-pass ecommerce-cache ${PASSWORD_PLACEHOLDER}`),
            );
        });
        it("pins the image and lists every node, the first as initial master", () => {
            const env = fileOf(replica, NODE_PATHS.env).content;
            assert.ok(env.includes("IMAGE='public.ecr.aws/docker/library/redis:6.2.20'"));
            assert.ok(env.includes(`CLUSTER_ADDRESSES='${ADDRESSES.join(" ")}'`));
            assert.ok(env.includes("INITIAL_MASTER='10.10.64.10'"));
            assert.ok(env.includes("NODE_ADDRESS='10.10.80.11'"));
        });
        it("starts the first node as master and the others as its replicas, all sentinels watching it", () => {
            assert.deepEqual(
                directives(fileOf(master, NODE_PATHS.redisTemplate).content).filter((l) => l.startsWith("replicaof")),
                [],
            );
            assert.ok(directives(fileOf(replica, NODE_PATHS.redisTemplate).content).includes("replicaof 10.10.64.10 6379"));
            for (const doc of [master, replica]) {
                assert.ok(
                    directives(fileOf(doc, NODE_PATHS.sentinelTemplate).content).includes(
                        "sentinel monitor ecommerce-cache 10.10.64.10 6379 2",
                    ),
                );
            }
        });
        it("rejects a floating image tag", () => {
            assert.throws(() => renderRedisCloudConfig(spec(ADDRESSES[0], { image: "redis:6.2" })), {
                message:
                    'renderRedisCloudConfig: image = "redis:6.2": expected an image pinned to an exact x.y.z tag or an @sha256 digest (no floating tags such as latest or 6.2)',
            });
        });
        it("rejects a node missing from the cluster's address list", () => {
            assert.throws(
                () => renderRedisCloudConfig(spec("10.10.64.99")),
                /clusterAddresses = .*: expected a list that includes the node's address 10\.10\.64\.99/,
            );
        });
        it("rejects a secret reference that is neither a secret name nor an ARN", () => {
            assert.throws(() => renderRedisCloudConfig(spec(ADDRESSES[0], { passwordSecretId: "redis password" })), {
                message: 'renderRedisCloudConfig: passwordSecretId = "redis password": expected a Secrets Manager secret name or ARN',
            });
        });
    });
});

describe("lib/redisConfig with the real tools", function () {
    this.timeout(30000);
    let tmp: string;
    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "redis-config-test-"));
    });
    after(() => {
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    describe("cloud-init schema", () => {
        const validate = (text: string, file: string) => {
            requireTool("cloud-init", "cloud-init");
            const target = path.join(tmp, file);
            fs.writeFileSync(target, text);
            return spawnSync("cloud-init", ["schema", "--config-file", target], { encoding: "utf8" });
        };
        ADDRESSES.forEach((address, i) => {
            it(`accepts the user data of node ${i + 1} (${address})`, () => {
                const result = validate(renderRedisCloudConfig(spec(address)), `node-${i + 1}.yaml`);
                assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
                assert.match(result.stdout, /Valid cloud-config/);
            });
        });
        it("rejects a cloud-config with a malformed write_files entry (the check can fail)", () => {
            const broken = renderRedisCloudConfig(spec(ADDRESSES[0])).replace('permissions: "0600"', "permissions: [0600]");
            const result = validate(broken, "broken.yaml");
            assert.notEqual(result.status, 0, result.stdout);
        });
    });

    describe("the bootstrap script (stubbed AWS CLI and docker)", () => {
        const PASSWORD = "Q7mZr2Lk9VtXw4Hc8Ns3Bd6Fg1Jp5Ty0Ua2Ke7Wx";
        const STUBS: Record<string, string> = {
            aws: 'echo "aws $*" >>"$STUB_LOG"; printf "%s\\n" "$STUB_SECRET"',
            docker: [
                'echo "docker $* auth=${REDISCLI_AUTH:+set}" >>"$STUB_LOG"',
                'case "$1 $*" in',
                '  "container "*) exit 1 ;;',
                '  "run "*redis-cli*) [ -n "${STUB_SENTINEL_MASTER:-}" ] || exit 1; printf "%s\\n6379\\n" "$STUB_SENTINEL_MASTER" ;;',
                '  "run "*) echo 0123456789abcdef ;;',
                "esac",
            ].join("\n"),
            getent: "exit 2",
        };
        for (const noop of ["sysctl", "systemd-tmpfiles", "groupadd", "useradd", "systemctl", "chown", "dnf"]) {
            STUBS[noop] = `echo "${noop} $*" >>"$STUB_LOG"`;
        }

        /** Lays out a node's user data under a fresh root and runs the script there. */
        function bootstrap(node: number, env: Record<string, string>) {
            requireTool("bash", "bash");
            const root = fs.mkdtempSync(path.join(tmp, `node-${node}-`));
            const stubs = path.join(root, "stubs");
            fs.mkdirSync(stubs);
            for (const [name, body] of Object.entries(STUBS)) {
                fs.writeFileSync(path.join(stubs, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
            }
            for (const file of cloudConfig(renderRedisCloudConfig(spec(ADDRESSES[node - 1]))).write_files) {
                const target = path.join(root, file.path);
                fs.mkdirSync(path.dirname(target), { recursive: true });
                fs.writeFileSync(target, file.content, { mode: parseInt(file.permissions, 8) });
            }
            const log = path.join(root, "commands.log");
            fs.writeFileSync(log, "");
            const result = spawnSync("bash", [path.join(root, NODE_PATHS.script)], {
                encoding: "utf8",
                env: { PATH: `${stubs}:${process.env.PATH}`, REDIS_NODE_ROOT: root, STUB_LOG: log, STUB_SECRET: PASSWORD, ...env },
            });
            const read = (p: string) => fs.readFileSync(path.join(root, p), "utf8");
            const mode = (p: string) => (fs.statSync(path.join(root, p)).mode & 0o777).toString(8);
            return { result, commands: fs.readFileSync(log, "utf8"), read, mode, exists: (p: string) => fs.existsSync(path.join(root, p)) };
        }

        it("fills the password into the configs, 0600 in 0700 directories, and never into a command line or its output", () => {
            const node = bootstrap(2, {});
            assert.equal(node.result.status, 0, node.result.stderr);
            const redisConf = directives(node.read("etc/redis-node/server/redis.conf"));
            const sentinelConf = directives(node.read("etc/redis-node/sentinel/sentinel.conf"));
            assert.ok(redisConf.includes(`requirepass ${PASSWORD}`) && redisConf.includes(`masterauth ${PASSWORD}`));
            assert.ok(
                sentinelConf.includes(`requirepass ${PASSWORD}`) && sentinelConf.includes(`sentinel auth-pass ecommerce-cache ${PASSWORD}`),
            );
            assert.ok(!redisConf.includes(PASSWORD_PLACEHOLDER) && !sentinelConf.includes(PASSWORD_PLACEHOLDER));
            assert.equal(node.mode("etc/redis-node/server/redis.conf"), "600");
            assert.equal(node.mode("etc/redis-node/sentinel/sentinel.conf"), "600");
            assert.equal(node.mode("etc/redis-node/server"), "700");
            assert.equal(node.mode("etc/redis-node/sentinel"), "700");
            assert.ok(!node.commands.includes(PASSWORD), "password on a command line");
            assert.ok(!`${node.result.stdout}${node.result.stderr}`.includes(PASSWORD), "password in the output");
            assert.match(
                node.commands,
                new RegExp(
                    `aws secretsmanager get-secret-value --region us-east-2 --secret-id ${ARN.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} `,
                ),
            );
        });

        it("starts a replica of the initial master when no sentinel answers", () => {
            const node = bootstrap(2, {});
            assert.equal(node.result.status, 0, node.result.stderr);
            assert.deepEqual(
                directives(node.read("etc/redis-node/server/redis.conf")).filter((l) => l.startsWith("replicaof")),
                ["replicaof 10.10.64.10 6379"],
            );
        });

        it("runs Redis and Sentinel in docker with host networking, a restart policy, an unprivileged user and mounted configs", () => {
            const node = bootstrap(1, {});
            assert.equal(node.result.status, 0, node.result.stderr);
            const runs = node.commands.split("\n").filter((l) => l.startsWith("docker run --detach"));
            assert.equal(runs.length, 2, node.commands);
            const [server, sentinel] = runs;
            for (const line of runs) {
                assert.ok(line.includes("--network host --restart always --user 6379:6379"), line);
            }
            assert.match(
                server,
                /--name redis-server .*--volume \S+\/etc\/redis-node\/server:\/usr\/local\/etc\/redis .*public\.ecr\.aws\/docker\/library\/redis:6\.2\.20 redis-server \/usr\/local\/etc\/redis\/redis\.conf/,
            );
            assert.match(
                sentinel,
                /--name redis-sentinel .*--volume \S+\/etc\/redis-node\/sentinel:\/usr\/local\/etc\/redis-sentinel .*redis:6\.2\.20 redis-sentinel \/usr\/local\/etc\/redis-sentinel\/sentinel\.conf/,
            );
        });

        it("asks the other nodes' sentinels with the password in REDISCLI_AUTH only", () => {
            const node = bootstrap(1, {});
            const probes = node.commands.split("\n").filter((l) => l.includes("redis-cli"));
            assert.deepEqual(
                probes.map((l) => l.match(/-h (\S+)/)?.[1]),
                ["10.10.80.11", "10.10.96.12"],
            );
            assert.ok(
                probes.every((l) => l.endsWith("auth=set")),
                probes.join("\n"),
            );
        });

        it("follows the master a peer sentinel reports after a failover instead of starting a second master", () => {
            const node = bootstrap(1, { STUB_SENTINEL_MASTER: "10.10.80.11" });
            assert.equal(node.result.status, 0, node.result.stderr);
            assert.deepEqual(
                directives(node.read("etc/redis-node/server/redis.conf")).filter((l) => l.startsWith("replicaof")),
                ["replicaof 10.10.80.11 6379"],
            );
            assert.ok(
                directives(node.read("etc/redis-node/sentinel/sentinel.conf")).includes(
                    "sentinel monitor ecommerce-cache 10.10.80.11 6379 2",
                ),
            );
        });

        it("fails without writing any config when the secret is not letters and digits", () => {
            const node = bootstrap(1, { STUB_SECRET: "short'pass" });
            assert.notEqual(node.result.status, 0);
            assert.match(node.result.stderr, /must hold 32 or more letters and digits/);
            assert.equal(node.exists("etc/redis-node/server/redis.conf"), false);
            assert.ok(!node.commands.includes("docker run --detach"));
        });
    });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("Redis and Sentinel from the rendered configs (redis-server, redis-sentinel on 127.0.0.1)", function () {
    this.timeout(40000);
    const PASSWORD = "Lz8Qe3Rt6Yu1Io4Pa7Sd0Fg2Hj5Kl9ZxCvBnM";
    const LOOPBACK = "127.0.0.1";
    const MAXMEMORY_MIB = maxmemoryMib("t3.large", 70);
    let dir: string;
    let redisPorts: number[] = [];
    let sentinelPorts: number[] = [];
    const processes: ChildProcess[] = [];

    /** redis-cli against 127.0.0.1:port; the password (if any) through REDISCLI_AUTH. */
    async function cli(port: number, args: string[], auth = true): Promise<string> {
        const env: NodeJS.ProcessEnv = { ...process.env };
        delete env.REDISCLI_AUTH;
        if (auth) {
            env.REDISCLI_AUTH = PASSWORD;
        }
        const { stdout } = await run("redis-cli", ["-h", LOOPBACK, "-p", String(port), "--raw", ...args], { env, timeout: 5000 });
        return stdout.trim();
    }
    /** `INFO` sections as key -> value. */
    function info(text: string): Record<string, string> {
        return Object.fromEntries(
            text
                .split(/\r?\n/)
                .filter((l) => l.includes(":"))
                .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]),
        );
    }
    /** Fields of a flat RESP map reply printed by --raw (one item per line). */
    function fields(text: string): Record<string, string> {
        const lines = text.split("\n");
        const out: Record<string, string> = {};
        for (let i = 0; i + 1 < lines.length; i += 2) {
            out[lines[i]] = lines[i + 1];
        }
        return out;
    }
    async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            if (await probe().catch(() => false)) {
                return;
            }
            if (Date.now() > deadline) {
                throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
            }
            await sleep(100);
        }
    }
    function start(command: string, file: string, text: string): void {
        const target = path.join(dir, file);
        fs.writeFileSync(target, text, { mode: 0o600 });
        const child = spawn(command, [target], { cwd: dir, stdio: ["ignore", fs.openSync(`${target}.log`, "w"), "inherit"] });
        processes.push(child);
    }

    before(async () => {
        requireTool("redis-server", "redis-server");
        requireTool("redis-sentinel", "redis-sentinel");
        requireTool("redis-cli", "redis-tools");
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-cluster-test-"));
        redisPorts = [await freePort(), await freePort(), await freePort()];
        sentinelPorts = [await freePort(), await freePort(), await freePort()];
        // The production renderers, with the node addresses remapped to loopback and ports
        // this test picked; sentinels decide faster so a failover fits in the test.
        redisPorts.forEach((port, i) => {
            const nodeDir = path.join(dir, `node-${i + 1}`);
            fs.mkdirSync(nodeDir);
            start(
                "redis-server",
                `redis-${i + 1}.conf`,
                renderRedisConf({
                    address: LOOPBACK,
                    port,
                    masterAddress: i === 0 ? undefined : LOOPBACK,
                    masterPort: redisPorts[0],
                    maxmemoryMib: MAXMEMORY_MIB,
                    password: PASSWORD,
                    dir: nodeDir,
                }) +
                    // Production waits 5 s for more replicas before a full sync; here both are already
                    // connecting, so the wait would only slow the suite (the last value read wins).
                    "repl-diskless-sync-delay 0\n",
            );
        });
        await waitFor("both replicas in sync", 15000, async () => {
            for (const port of redisPorts.slice(1)) {
                if (info(await cli(port, ["INFO", "replication"])).master_link_status !== "up") {
                    return false;
                }
            }
            return true;
        });
        sentinelPorts.forEach((port, i) => {
            start(
                "redis-sentinel",
                `sentinel-${i + 1}.conf`,
                renderSentinelConf({
                    address: LOOPBACK,
                    port,
                    masterName: "ecommerce-cache",
                    masterAddress: LOOPBACK,
                    masterPort: redisPorts[0],
                    quorum: 2,
                    password: PASSWORD,
                    downAfterMilliseconds: 1000,
                    failoverTimeoutMilliseconds: 5000,
                }),
            );
        });
        await waitFor("every sentinel to see the 2 replicas and the 2 other sentinels", 15000, async () => {
            for (const port of sentinelPorts) {
                const master = fields(await cli(port, ["SENTINEL", "master", "ecommerce-cache"]));
                if (master["num-slaves"] !== "2" || master["num-other-sentinels"] !== "2") {
                    return false;
                }
            }
            return true;
        });
    });

    after(async () => {
        await Promise.all(
            processes.map(
                (p) =>
                    new Promise<void>((resolve) => {
                        if (p.exitCode !== null || p.signalCode !== null) {
                            resolve();
                            return;
                        }
                        p.once("exit", () => resolve());
                        p.kill("SIGKILL");
                    }),
            ),
        );
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses commands without the password", async () => {
        for (const port of [...redisPorts, ...sentinelPorts]) {
            assert.match(await cli(port, ["PING"], false), /NOAUTH Authentication required/);
        }
    });

    it("replicates a write on the master to both replicas", async () => {
        assert.equal(await cli(redisPorts[0], ["SET", "page:/", "cached"]), "OK");
        for (const port of redisPorts.slice(1)) {
            await waitFor(`the key on replica ${port}`, 5000, async () => (await cli(port, ["GET", "page:/"])) === "cached");
        }
    });

    it("keeps the replicas read-only", async () => {
        assert.match(await cli(redisPorts[1], ["SET", "page:/", "other"]), /READONLY/);
    });

    it(`caps memory at ${MAXMEMORY_MIB} MiB with allkeys-lru eviction`, async () => {
        for (const port of redisPorts) {
            assert.deepEqual((await cli(port, ["CONFIG", "GET", "maxmemory"])).split("\n"), [
                "maxmemory",
                String(MAXMEMORY_MIB * 1024 * 1024),
            ]);
            assert.deepEqual((await cli(port, ["CONFIG", "GET", "maxmemory-policy"])).split("\n"), ["maxmemory-policy", "allkeys-lru"]);
        }
    });

    it("has every sentinel monitoring the master with quorum 2 and reaching a failover majority", async () => {
        for (const port of sentinelPorts) {
            const master = fields(await cli(port, ["SENTINEL", "master", "ecommerce-cache"]));
            assert.equal(master.ip, LOOPBACK);
            assert.equal(master.port, String(redisPorts[0]));
            assert.equal(master.quorum, "2");
            assert.equal(master.flags, "master");
            assert.match(await cli(port, ["SENTINEL", "ckquorum", "ecommerce-cache"]), /^OK 3 usable Sentinels/);
        }
    });

    it("fails over to a replica within 10 s when the master dies", async () => {
        processes[0].kill("SIGKILL");
        const replicaPorts = redisPorts.slice(1).map(String);
        let promoted = "";
        await waitFor("a sentinel to report a new master", 10000, async () => {
            const [, port] = (await cli(sentinelPorts[1], ["SENTINEL", "get-master-addr-by-name", "ecommerce-cache"])).split("\n");
            promoted = port;
            return replicaPorts.includes(port);
        });
        await waitFor(
            "the promoted replica to act as master",
            5000,
            async () => (await cli(Number(promoted), ["ROLE"])).split("\n")[0] === "master",
        );
        assert.equal(await cli(Number(promoted), ["SET", "page:/after", "failover"]), "OK");
    });
});
