/**
 * What runs on a Redis node, as pure functions: redis.conf, sentinel.conf and the
 * cloud-config user data that installs them with the bootstrap script. No Pulumi here:
 * tests render these files and hand them to the real redis-server, redis-sentinel and
 * `cloud-init schema`.
 *
 * The password never appears in anything rendered here for a node: the configs carry
 * PASSWORD_PLACEHOLDER, and the bootstrap script replaces it on the instance with the value
 * it reads from Secrets Manager through the instance role.
 */
import { stringify } from "yaml";
import { INSTANCE_MEMORY_MIB } from "./instanceTypes";
import {
    AWS_REGION,
    integerFrom,
    MAXMEMORY_PERCENT,
    PINNED_IMAGE,
    problem,
    Problems,
    REDIS_INSTANCE_TYPE,
    REDIS_MASTER_NAME_RULE,
    REDIS_NODE_COUNT,
    ROOT_VOLUME_GIB,
    SECRET_NAME,
    SENTINEL_DOWN_AFTER_MS,
    sentinelQuorum,
} from "./rules";

export const REDIS_PORT = 6379;
export const SENTINEL_PORT = 26379;

/** Stands for the password in the rendered configs; the bootstrap script fills it in. */
export const PASSWORD_PLACEHOLDER = "@REDIS_PASSWORD@";

/**
 * uid and gid the containers run as (`docker run --user`). A dedicated host account
 * (`redis-node`, created by the bootstrap script) owns the config and data directories;
 * no Amazon Linux 2023 system account uses this number.
 */
export const CONTAINER_UID = 6379;

/** Sentinel's name for the master group unless told otherwise; clients ask the sentinels for it. */
export const DEFAULT_MASTER_NAME = "ecommerce-cache";
/** Sentinel's defaults here: a master silent this long is subjectively down... */
export const DEFAULT_DOWN_AFTER_MS = 5000;
/** ...and a failover that has not completed in this long is retried by another sentinel. */
export const DEFAULT_FAILOVER_TIMEOUT_MS = 60000;

/** Where the bootstrap script keeps a node's files. */
export const NODE_PATHS = {
    etc: "/etc/redis-node",
    env: "/etc/redis-node/node.env",
    redisTemplate: "/etc/redis-node/redis.conf.template",
    sentinelTemplate: "/etc/redis-node/sentinel.conf.template",
    script: "/usr/local/sbin/redis-node-bootstrap",
    sysctl: "/etc/sysctl.d/90-redis.conf",
    thp: "/etc/tmpfiles.d/90-redis-thp.conf",
} as const;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** Tokens redis.conf reads without quoting (no spaces, quotes or backslashes). */
const CONF_TOKEN = /^[A-Za-z0-9@_.-]+$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

function check(ok: boolean, what: string, value: unknown, allowed: string): void {
    if (!ok) {
        throw new Error(problem(what, value, allowed));
    }
}

function checkPort(what: string, port: number): void {
    check(Number.isInteger(port) && port >= 1 && port <= 65535, what, port, "a TCP port (1 to 65535)");
}

/** Redis `maxmemory` in MiB: `percent` of the instance type's memory, rounded down. */
export function maxmemoryMib(instanceType: string, percent: number): number {
    check(REDIS_INSTANCE_TYPE.accepts(instanceType), "maxmemoryMib: instance type", instanceType, REDIS_INSTANCE_TYPE.allowed);
    check(MAXMEMORY_PERCENT.accepts(percent), "maxmemoryMib: percent", percent, MAXMEMORY_PERCENT.allowed);
    return Math.floor((INSTANCE_MEMORY_MIB[instanceType] * percent) / 100);
}

/** The settings a RedisCluster is built from, checked before any resource exists. */
export interface RedisClusterSettings {
    readonly instanceType: string;
    readonly nodeCount: number;
    readonly image: string;
    readonly sentinelQuorum: number;
    readonly maxmemoryPercent: number;
    readonly masterName: string;
    readonly rootVolumeGiB: number;
    readonly zoneCount: number;
    /** Sentinel's down-after-milliseconds; undefined: the renderer's default. */
    readonly downAfterMilliseconds?: number;
}

/**
 * Every problem with the settings, each naming the field, the value received and what is
 * allowed; empty when they are fine.
 */
export function redisClusterProblems(s: RedisClusterSettings): string[] {
    const p = new Problems();
    p.check("instanceType", s.instanceType, REDIS_INSTANCE_TYPE);
    if (p.check("nodeCount", s.nodeCount, REDIS_NODE_COUNT)) {
        p.check("sentinelQuorum", s.sentinelQuorum, sentinelQuorum(s.nodeCount));
    }
    p.check("image", s.image, PINNED_IMAGE);
    p.check("maxmemoryPercent", s.maxmemoryPercent, MAXMEMORY_PERCENT);
    p.check("masterName", s.masterName, REDIS_MASTER_NAME_RULE);
    p.check("rootVolumeGiB", s.rootVolumeGiB, ROOT_VOLUME_GIB);
    p.checkOptional("downAfterMilliseconds", s.downAfterMilliseconds, SENTINEL_DOWN_AFTER_MS);
    p.check("subnets.length", s.zoneCount, integerFrom(1, 3, " data subnets, one per zone"));
    return p.list;
}

export interface RedisConfOptions {
    /** The node's own address: Redis binds it (and 127.0.0.1) and announces it to the master. */
    readonly address: string;
    /** @default 6379 */
    readonly port?: number;
    /** The master to replicate from; absent for the node that starts as master. */
    readonly masterAddress?: string;
    /** @default 6379 */
    readonly masterPort?: number;
    readonly maxmemoryMib: number;
    /** requirepass and masterauth (the same everywhere, so any node can become master). */
    readonly password: string;
    /** Working directory (replication temp files). @default "/data" (the container's volume) */
    readonly dir?: string;
}

/** Both addresses to bind, the node's first: a replica connects to its master from it. */
function bindLine(address: string): string {
    return `bind ${[...new Set([address, "127.0.0.1"])].join(" ")}`;
}

/**
 * redis.conf of one node, accepted by Redis 6.2 and 7.0. A cache: LRU eviction over all
 * keys at `maxmemory`, no persistence.
 */
export function renderRedisConf(o: RedisConfOptions): string {
    check(IPV4.test(o.address), "renderRedisConf: address", o.address, "an IPv4 address");
    if (o.masterAddress !== undefined) {
        check(IPV4.test(o.masterAddress), "renderRedisConf: masterAddress", o.masterAddress, "an IPv4 address");
    }
    const port = o.port ?? REDIS_PORT;
    const masterPort = o.masterPort ?? REDIS_PORT;
    checkPort("renderRedisConf: port", port);
    checkPort("renderRedisConf: masterPort", masterPort);
    check(
        Number.isInteger(o.maxmemoryMib) && o.maxmemoryMib >= 64,
        "renderRedisConf: maxmemoryMib",
        o.maxmemoryMib,
        "an integer of at least 64",
    );
    check(CONF_TOKEN.test(o.password), "renderRedisConf: password", "(hidden)", "letters, digits, '@', '_', '.' or '-' only");
    const dir = o.dir ?? "/data";
    check(/^\/[A-Za-z0-9._/-]*$/.test(dir), "renderRedisConf: dir", dir, "an absolute path without spaces");
    const replica = o.masterAddress !== undefined && !(o.masterAddress === o.address && masterPort === port);
    return [
        `# Redis ${replica ? "replica" : "master"} node, rendered by lib/redisConfig.ts.`,
        "# Sentinel may rewrite the replicaof line after a failover (CONFIG REWRITE).",
        bindLine(o.address),
        `port ${port}`,
        // Only bound addresses are reachable, and every client must authenticate.
        "protected-mode yes",
        "tcp-backlog 511",
        "tcp-keepalive 300",
        "timeout 0",
        "daemonize no",
        "supervised no",
        "loglevel notice",
        'logfile ""',
        "databases 16",
        `dir ${dir}`,
        "# A cache: no RDB snapshots and no AOF. A restarted node resyncs from the master;",
        "# losing every node loses only cached pages, which the database still holds.",
        'save ""',
        "appendonly no",
        `maxmemory ${o.maxmemoryMib}mb`,
        "maxmemory-policy allkeys-lru",
        "maxmemory-samples 5",
        "lazyfree-lazy-eviction yes",
        "lazyfree-lazy-expire yes",
        `requirepass ${o.password}`,
        `masterauth ${o.password}`,
        `replica-announce-ip ${o.address}`,
        "replica-read-only yes",
        "replica-serve-stale-data yes",
        "replica-priority 100",
        // Full syncs stream the snapshot over the socket: nothing is written to disk on the master.
        "repl-diskless-sync yes",
        "repl-diskless-sync-delay 5",
        "repl-backlog-size 64mb",
        // DEBUG can crash or stall the server; nothing here needs it.
        'rename-command DEBUG ""',
        ...(replica ? [`replicaof ${o.masterAddress} ${masterPort}`] : []),
        "",
    ].join("\n");
}

export interface SentinelConfOptions {
    /** The node's own address: Sentinel binds it (and 127.0.0.1) and announces it to its peers. */
    readonly address: string;
    /** @default 26379 */
    readonly port?: number;
    readonly masterName: string;
    /** The master at first start (Sentinel tracks it from then on). */
    readonly masterAddress: string;
    /** @default 6379 */
    readonly masterPort?: number;
    readonly quorum: number;
    /** Password of the Redis nodes and of the sentinels themselves. */
    readonly password: string;
    /** @default 5000 */
    readonly downAfterMilliseconds?: number;
    /** @default 60000 */
    readonly failoverTimeoutMilliseconds?: number;
}

/**
 * sentinel.conf of one node, accepted by Redis 6.2 and 7.0. Sentinel rewrites this file
 * (its ID, the known replicas and sentinels, the current master), so it must be writable.
 */
export function renderSentinelConf(o: SentinelConfOptions): string {
    check(IPV4.test(o.address), "renderSentinelConf: address", o.address, "an IPv4 address");
    check(IPV4.test(o.masterAddress), "renderSentinelConf: masterAddress", o.masterAddress, "an IPv4 address");
    check(REDIS_MASTER_NAME_RULE.accepts(o.masterName), "renderSentinelConf: masterName", o.masterName, REDIS_MASTER_NAME_RULE.allowed);
    const port = o.port ?? SENTINEL_PORT;
    const masterPort = o.masterPort ?? REDIS_PORT;
    checkPort("renderSentinelConf: port", port);
    checkPort("renderSentinelConf: masterPort", masterPort);
    check(Number.isInteger(o.quorum) && o.quorum >= 1, "renderSentinelConf: quorum", o.quorum, "a positive integer");
    check(CONF_TOKEN.test(o.password), "renderSentinelConf: password", "(hidden)", "letters, digits, '@', '_', '.' or '-' only");
    const downAfter = o.downAfterMilliseconds ?? DEFAULT_DOWN_AFTER_MS;
    const failoverTimeout = o.failoverTimeoutMilliseconds ?? DEFAULT_FAILOVER_TIMEOUT_MS;
    check(
        Number.isInteger(downAfter) && downAfter >= 100,
        "renderSentinelConf: downAfterMilliseconds",
        downAfter,
        "an integer of at least 100",
    );
    check(
        Number.isInteger(failoverTimeout) && failoverTimeout >= 1000,
        "renderSentinelConf: failoverTimeoutMilliseconds",
        failoverTimeout,
        "an integer of at least 1000",
    );
    const m = o.masterName;
    return [
        "# Redis Sentinel, rendered by lib/redisConfig.ts. Sentinel rewrites this file.",
        bindLine(o.address),
        `port ${port}`,
        "protected-mode yes",
        "daemonize no",
        'logfile ""',
        // Peers and clients are told this address, never a container or loopback address.
        `sentinel announce-ip ${o.address}`,
        // Every node is addressed by its fixed IP; no DNS names anywhere.
        "sentinel resolve-hostnames no",
        "sentinel announce-hostnames no",
        // Clients and the other sentinels must authenticate (sentinels use this password
        // with each other too).
        `requirepass ${o.password}`,
        `sentinel monitor ${m} ${o.masterAddress} ${masterPort} ${o.quorum}`,
        `sentinel auth-pass ${m} ${o.password}`,
        `sentinel down-after-milliseconds ${m} ${downAfter}`,
        `sentinel failover-timeout ${m} ${failoverTimeout}`,
        `sentinel parallel-syncs ${m} 1`,
        "sentinel deny-scripts-reconfig yes",
        "",
    ].join("\n");
}

/** One node of the cluster, as its user data describes it. */
export interface RedisNodeSpec {
    /** The node's fixed private address. */
    readonly address: string;
    /** Every node's address in node order (this node's included); the first is the initial master. */
    readonly clusterAddresses: readonly string[];
    readonly maxmemoryMib: number;
    readonly quorum: number;
    readonly masterName: string;
    /** Redis image, pinned (repository:x.y.z or a digest). */
    readonly image: string;
    /**
     * Name or ARN of the Secrets Manager secret holding the password (a plain SecretString).
     * A fixed name keeps the user data known at preview time.
     */
    readonly passwordSecretId: string;
    /** Region of the secret (where the AWS CLI asks for it). */
    readonly region: string;
    /** @default 5000 */
    readonly downAfterMilliseconds?: number;
}

/** Files the bootstrap script expects, with their permissions. */
interface WriteFile {
    path: string;
    owner: string;
    permissions: string;
    content: string;
}

/**
 * The bootstrap script, the same on every node (node.env says which node). Runs once per
 * instance from cloud-init. It never prints the password and never passes it on a
 * command line: it reaches redis-cli through the REDISCLI_AUTH environment variable and
 * the config files through a shell substitution.
 *
 * REDIS_NODE_ROOT (empty on a node) prefixes every path; the offline tests run the script
 * against a temporary directory with stub commands.
 */
export const BOOTSTRAP_SCRIPT = `#!/bin/bash
# Bootstraps a Redis + Sentinel node. Rendered by lib/redisConfig.ts.
set -euo pipefail
umask 077
shopt -u patsub_replacement 2>/dev/null || true

ROOT="\${REDIS_NODE_ROOT:-}"
ETC="$ROOT${NODE_PATHS.etc}"
DATA="$ROOT/var/lib/redis-node"
# shellcheck source=/dev/null
. "$ETC/node.env"

log() { echo "redis-node-bootstrap: $*" >&2; }

# retry <attempts> <seconds between> <command...>
retry() {
    local attempts=$1 pause=$2 i
    shift 2
    for ((i = 1; i <= attempts; i++)); do
        if "$@"; then
            return 0
        fi
        log "$1: attempt $i of $attempts failed"
        sleep "$pause"
    done
    return 1
}

# Host settings Redis asks for: overcommit (forks for replication) and no transparent huge pages.
sysctl --quiet --load="$ROOT${NODE_PATHS.sysctl}"
systemd-tmpfiles --create "$ROOT${NODE_PATHS.thp}"

# The unprivileged account the containers run as; it owns the config and data directories.
getent group redis-node >/dev/null || groupadd --system --gid "$CONTAINER_UID" redis-node
getent passwd redis-node >/dev/null || useradd --system --uid "$CONTAINER_UID" --gid "$CONTAINER_UID" \\
    --no-create-home --home-dir /nonexistent --shell /sbin/nologin redis-node

command -v docker >/dev/null || retry 10 15 dnf install --assumeyes --quiet docker
systemctl enable --now docker
retry 30 10 docker pull --quiet "$IMAGE"

# The password, through the instance role (the AWS CLI signs with IMDSv2 credentials).
fetch_password() {
    password="$(aws secretsmanager get-secret-value --region "$REGION" --secret-id "$SECRET_ID" \\
        --query SecretString --output text)"
}
if ! retry 30 10 fetch_password; then
    log "cannot read the Redis password from $SECRET_ID"
    exit 1
fi
if [[ ! "$password" =~ ^[A-Za-z0-9]{32,}$ ]]; then
    log "the secret $SECRET_ID must hold 32 or more letters and digits"
    exit 1
fi

# The current master: after a failover it is not the initial one, so ask the other nodes'
# sentinels first; a node that starts as master beside a running cluster would be a second one.
master="$INITIAL_MASTER"
for peer in $CLUSTER_ADDRESSES; do
    [ "$peer" = "$NODE_ADDRESS" ] && continue
    if reply="$(REDISCLI_AUTH="$password" timeout 20 docker run --rm --network host --env REDISCLI_AUTH "$IMAGE" \\
        redis-cli -h "$peer" -p "$SENTINEL_PORT" --raw SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null)"; then
        found="$(printf '%s\\n' "$reply" | sed -n 1p)"
        if [[ "$found" =~ ^[0-9]{1,3}(\\.[0-9]{1,3}){3}$ ]]; then
            master="$found"
            log "the sentinel at $peer reports master $master"
            break
        fi
    fi
done

# render <template> <target>: the template with the password filled in, mode 0600.
render() {
    local template
    template="$(<"$1")"
    printf '%s\\n' "\${template//"$PASSWORD_PLACEHOLDER"/$password}" >"$2.tmp"
    chmod 0600 "$2.tmp"
    mv "$2.tmp" "$2"
}

install -d -m 0700 "$ETC/server" "$ETC/sentinel" "$DATA"
# Rendered once: Sentinel rewrites both files later, and a re-run must not undo that.
if [ ! -e "$ETC/server/redis.conf" ]; then
    render "$ROOT${NODE_PATHS.redisTemplate}" "$ETC/server/redis.conf"
    sed -i '/^replicaof /d' "$ETC/server/redis.conf"
    if [ "$master" != "$NODE_ADDRESS" ]; then
        echo "replicaof $master $REDIS_PORT" >>"$ETC/server/redis.conf"
    fi
fi
if [ ! -e "$ETC/sentinel/sentinel.conf" ]; then
    render "$ROOT${NODE_PATHS.sentinelTemplate}" "$ETC/sentinel/sentinel.conf"
    sed -i "s/^sentinel monitor $MASTER_NAME [^ ]* [^ ]* /sentinel monitor $MASTER_NAME $master $REDIS_PORT /" "$ETC/sentinel/sentinel.conf"
fi
unset password
chown -R "$CONTAINER_UID:$CONTAINER_UID" "$ETC/server" "$ETC/sentinel" "$DATA"

# start <container name> <docker run arguments...>: host networking, restarted with the host.
start() {
    local name=$1
    shift
    if docker container inspect "$name" >/dev/null 2>&1; then
        return 0
    fi
    docker run --detach --name "$name" --network host --restart always \\
        --user "$CONTAINER_UID:$CONTAINER_UID" --ulimit nofile=65536:65536 --log-driver journald "$@"
}
start redis-server --volume "$ETC/server:/usr/local/etc/redis" --volume "$DATA:/data" \\
    "$IMAGE" redis-server /usr/local/etc/redis/redis.conf
start redis-sentinel --volume "$ETC/sentinel:/usr/local/etc/redis-sentinel" \\
    "$IMAGE" redis-sentinel /usr/local/etc/redis-sentinel/sentinel.conf
log "redis-server and redis-sentinel started (master $master)"
`;

function envFile(values: Readonly<Record<string, string | number>>): string {
    return (
        Object.entries(values)
            .map(([key, value]) => {
                const text = String(value);
                check(!/['\n\\]/.test(text), `node.env: ${key}`, text, "a value without quotes, backslashes or newlines");
                return `${key}='${text}'`;
            })
            .join("\n") + "\n"
    );
}

/**
 * The cloud-config user data of one node: the two config templates (password placeholder
 * only), node.env (addresses, image, the secret's ARN and region), host tuning files and the
 * bootstrap script, run once by runcmd.
 */
export function renderRedisCloudConfig(spec: RedisNodeSpec): string {
    check(IPV4.test(spec.address), "renderRedisCloudConfig: address", spec.address, "an IPv4 address");
    check(
        spec.clusterAddresses.length >= 1 && spec.clusterAddresses.every((a) => IPV4.test(a)),
        "renderRedisCloudConfig: clusterAddresses",
        spec.clusterAddresses,
        "IPv4 addresses",
    );
    check(
        new Set(spec.clusterAddresses).size === spec.clusterAddresses.length,
        "renderRedisCloudConfig: clusterAddresses",
        spec.clusterAddresses,
        "distinct addresses",
    );
    check(
        spec.clusterAddresses.includes(spec.address),
        "renderRedisCloudConfig: clusterAddresses",
        spec.clusterAddresses,
        `a list that includes the node's address ${spec.address}`,
    );
    check(PINNED_IMAGE.accepts(spec.image), "renderRedisCloudConfig: image", spec.image, PINNED_IMAGE.allowed);
    check(
        SECRET_ARN.test(spec.passwordSecretId) || SECRET_NAME.accepts(spec.passwordSecretId),
        "renderRedisCloudConfig: passwordSecretId",
        spec.passwordSecretId,
        "a Secrets Manager secret name or ARN",
    );
    check(AWS_REGION.accepts(spec.region), "renderRedisCloudConfig: region", spec.region, AWS_REGION.allowed);
    const initialMaster = spec.clusterAddresses[0];
    const redisConf = renderRedisConf({
        address: spec.address,
        masterAddress: spec.address === initialMaster ? undefined : initialMaster,
        maxmemoryMib: spec.maxmemoryMib,
        password: PASSWORD_PLACEHOLDER,
    });
    const sentinelConf = renderSentinelConf({
        address: spec.address,
        masterName: spec.masterName,
        masterAddress: initialMaster,
        quorum: spec.quorum,
        password: PASSWORD_PLACEHOLDER,
        downAfterMilliseconds: spec.downAfterMilliseconds,
    });
    const env = envFile({
        REGION: spec.region,
        SECRET_ID: spec.passwordSecretId,
        IMAGE: spec.image,
        MASTER_NAME: spec.masterName,
        NODE_ADDRESS: spec.address,
        INITIAL_MASTER: initialMaster,
        CLUSTER_ADDRESSES: spec.clusterAddresses.join(" "),
        REDIS_PORT,
        SENTINEL_PORT,
        CONTAINER_UID,
        PASSWORD_PLACEHOLDER,
    });
    const file = (path: string, permissions: string, content: string): WriteFile => ({ path, owner: "root:root", permissions, content });
    const doc = {
        write_files: [
            file(NODE_PATHS.env, "0600", env),
            file(NODE_PATHS.redisTemplate, "0600", redisConf),
            file(NODE_PATHS.sentinelTemplate, "0600", sentinelConf),
            file(NODE_PATHS.sysctl, "0644", "vm.overcommit_memory = 1\n"),
            file(
                NODE_PATHS.thp,
                "0644",
                "w /sys/kernel/mm/transparent_hugepage/enabled - - - - never\nw /sys/kernel/mm/transparent_hugepage/defrag - - - - never\n",
            ),
            file(NODE_PATHS.script, "0700", BOOTSTRAP_SCRIPT),
        ],
        runcmd: [[NODE_PATHS.script]],
    };
    return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}
