/**
 * User data of the web/API servers: a cloud-config document, rendered by pure functions so
 * it can be unit-tested and checked by `cloud-init schema` without a cloud.
 *
 * On each server nginx serves the React build from WEB_ROOT and proxies `/api/` (and the
 * load balancer's health path) to the Flask app, run by gunicorn on API_BIND. Where the
 * application comes from:
 *
 * - `bakedAmi`: the team's pipeline baked nginx, its config, the app, its virtualenv and the
 *   `ecommerce-api` systemd unit into the AMI. User data only writes the non-secret runtime
 *   settings and starts the services.
 * - `releaseBundle`: a plain Amazon Linux 2023 AMI. User data installs nginx and Python,
 *   writes the nginx, gunicorn and systemd configuration, then fetches the pipeline's release
 *   bundle from S3 (`site/` = the React build, `api/` = the Flask app with requirements.txt,
 *   gunicorn among them, and optionally `api/wheels/` for an offline install) and starts the
 *   services. Without a bundle nothing is installed: nginx starts, the health check fails, and
 *   the bootstrap log says why.
 *
 * Never a secret: the app reads its passwords from Secrets Manager at runtime (the
 * environment carries secret ARNs or names, never values); `renderWebUserData` refuses
 * settings that look like secrets.
 */
import { stringify } from "yaml";
import { HEALTH_CHECK_PATH, problem } from "./rules";

/** Where nginx serves the React build from. */
export const WEB_ROOT = "/var/www/shop";
/** gunicorn's bind address: loopback only, nginx is the only client. */
export const API_HOST = "127.0.0.1";
export const API_PORT = 8000;
export const API_BIND = `${API_HOST}:${API_PORT}`;
/** systemd unit of the Flask app (the baked AMI must use the same name). */
export const API_SERVICE = "ecommerce-api.service";
/** Non-secret runtime settings of the app (systemd EnvironmentFile). */
export const API_ENV_FILE = "/etc/ecommerce/api.env";
export const BOOTSTRAP_SCRIPT = "/usr/local/sbin/ecommerce-web-bootstrap";

export type WebAppSource = "bakedAmi" | "releaseBundle";

export interface WebUserDataOptions {
    /** Where the application comes from (see the module comment). */
    readonly source: WebAppSource;
    /** Path the load balancer probes; nginx passes it to Flask. */
    readonly healthCheckPath: string;
    /** Release bundle (s3://bucket/key.tar.gz); only with `releaseBundle`. */
    readonly artifactUri?: string;
    /** Non-secret settings for the app (hostnames, secret ARNs), written to API_ENV_FILE. */
    readonly environment?: Readonly<Record<string, string>>;
}

/** s3://bucket/key.tar.gz, limited to characters that need no quoting in a shell or YAML. */
const RELEASE_URI = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/((?:[A-Za-z0-9._=+-]+\/)*[A-Za-z0-9._=+-]+\.tar\.gz)$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
/** Names that announce a secret value; `_ARN`, `_NAME` and `_ID` suffixes only point at one. */
const SECRET_NAME = /(PASS(WORD|WD)?|SECRET|TOKEN|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY)/;
const POINTER_SUFFIX = /_(ARN|NAME|ID)$/;
/** Values that are secrets whatever their name: PEM blocks, AWS access key IDs. */
const SECRET_VALUE = /-----BEGIN [A-Z ]*PRIVATE KEY-----|\b(AKIA|ASIA)[0-9A-Z]{16}\b/;

/** The bucket and key of a release bundle URI, or undefined when it is not one. */
export function parseReleaseUri(uri: string): { bucket: string; key: string } | undefined {
    const m = RELEASE_URI.exec(uri);
    return m ? { bucket: m[1], key: m[2] } : undefined;
}

/** Problems with the options, each saying what was wrong, the value and what is allowed. */
export function userDataProblems(o: WebUserDataOptions): string[] {
    const problems: string[] = [];
    if (!HEALTH_CHECK_PATH.accepts(o.healthCheckPath)) {
        problems.push(problem("healthCheckPath", o.healthCheckPath, HEALTH_CHECK_PATH.allowed));
    }
    if (o.artifactUri !== undefined) {
        if (o.source === "bakedAmi") {
            problems.push(
                `artifactUri ${JSON.stringify(o.artifactUri)} is set with a baked AMI: the AMI carries the application, so leave artifactUri unset`,
            );
        } else if (!parseReleaseUri(o.artifactUri)) {
            problems.push(
                `artifactUri ${JSON.stringify(o.artifactUri)} is not s3://<bucket>/<key>.tar.gz (key of letters, digits and ._=+-/)`,
            );
        }
    }
    for (const [name, value] of Object.entries(o.environment ?? {})) {
        if (!ENV_NAME.test(name)) {
            problems.push(`environment name ${JSON.stringify(name)} is not an upper-case variable name (A-Z, 0-9, _)`);
        } else if (SECRET_NAME.test(name) && !POINTER_SUFFIX.test(name)) {
            problems.push(
                `environment ${name} looks like a secret: user data is readable by anyone who can describe the instance; pass the secret's ARN or name (e.g. ${name}_ARN) and read it from Secrets Manager at runtime`,
            );
        }
        if (SECRET_VALUE.test(value)) {
            problems.push(`environment ${name} holds a private key or an AWS access key: never put credentials in user data`);
        } else if (!/^[\x21-\x7e]*$/.test(value) || /["'\\$`]/.test(value)) {
            problems.push(
                `environment ${name} = ${JSON.stringify(value)}: expected printable characters without spaces, quotes, backslashes, $ or backticks`,
            );
        }
    }
    return problems;
}

/** The nginx site: the React build, `/api/` and the health path to gunicorn. */
export function renderNginxSite(healthCheckPath: string): string {
    const proxy = [
        `        proxy_pass http://${API_BIND};`,
        "        proxy_http_version 1.1;",
        '        proxy_set_header Connection "";',
        "        proxy_set_header Host $host;",
        // The load balancer already put the client's address first.
        "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "        proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;",
        "        proxy_connect_timeout 5s;",
        "        proxy_read_timeout 60s;",
    ];
    return [
        "# Managed by Pulumi (ecommerce WebTier user data); changes are lost on the next instance refresh.",
        "server {",
        "    listen 80 default_server;",
        "    server_name _;",
        `    root ${WEB_ROOT};`,
        "    index index.html;",
        "    client_max_body_size 10m;",
        "",
        "    # The load balancer's health check goes through to Flask: 200 means nginx and the API both work.",
        `    location = ${healthCheckPath} {`,
        ...proxy,
        "        access_log off;",
        "    }",
        "",
        "    location /api/ {",
        ...proxy,
        "    }",
        "",
        "    # Fingerprinted build assets may be cached for long; index.html never is.",
        "    location /static/ {",
        "        expires 30d;",
        '        add_header Cache-Control "public, immutable";',
        "    }",
        "",
        "    # Client-side routes of the single-page app fall back to index.html.",
        "    location / {",
        '        add_header Cache-Control "no-cache";',
        "        try_files $uri $uri/ /index.html;",
        "    }",
        "}",
        "",
    ].join("\n");
}

/**
 * The whole nginx.conf (written after the package is installed, replacing the distribution's,
 * whose own default server would otherwise answer the load balancer).
 */
export function renderNginxMain(): string {
    return [
        "# Managed by Pulumi (ecommerce WebTier user data).",
        "user nginx;",
        "worker_processes auto;",
        "error_log /var/log/nginx/error.log notice;",
        "pid /run/nginx.pid;",
        "include /usr/share/nginx/modules/*.conf;",
        "",
        "events {",
        "    worker_connections 4096;",
        "}",
        "",
        "http {",
        "    log_format main '$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent '",
        '                    \'"$http_referer" "$http_user_agent" "$http_x_forwarded_for" $request_time\';',
        "    access_log /var/log/nginx/access.log main;",
        "    include /etc/nginx/mime.types;",
        "    default_type application/octet-stream;",
        "    sendfile on;",
        "    tcp_nopush on;",
        "    server_tokens off;",
        // Longer than the load balancer's idle timeout (60 s), so nginx never closes a
        // connection the load balancer is about to reuse (which would show as 502s).
        "    keepalive_timeout 75s;",
        "    types_hash_max_size 4096;",
        "    gzip on;",
        "    gzip_types text/css application/javascript application/json image/svg+xml;",
        "    include /etc/nginx/conf.d/*.conf;",
        "}",
        "",
    ].join("\n");
}

/** gunicorn settings: loopback only, workers from the CPU count. */
export function renderGunicornConfig(): string {
    return [
        "# Managed by Pulumi (ecommerce WebTier user data).",
        "import multiprocessing",
        "",
        `bind = "${API_BIND}"`,
        "workers = multiprocessing.cpu_count() * 2 + 1",
        "timeout = 60",
        "graceful_timeout = 30",
        "keepalive = 75",
        'accesslog = "-"',
        'errorlog = "-"',
        'forwarded_allow_ips = "127.0.0.1"',
        "",
    ].join("\n");
}

/** systemd unit running the Flask app (wsgi:app) under gunicorn as an unprivileged user. */
export function renderApiUnit(): string {
    return [
        "# Managed by Pulumi (ecommerce WebTier user data).",
        "[Unit]",
        "Description=E-commerce API (Flask under gunicorn)",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "User=ecommerce",
        "Group=ecommerce",
        "WorkingDirectory=/opt/ecommerce/current/api",
        `EnvironmentFile=${API_ENV_FILE}`,
        "ExecStart=/opt/ecommerce/venv/bin/gunicorn --config /etc/ecommerce/gunicorn.conf.py wsgi:app",
        "Restart=always",
        "RestartSec=2",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ProtectSystem=full",
        "ProtectHome=yes",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}

/** The environment file: one KEY=value per line, sorted (values were checked: no quoting needed). */
export function renderEnvironmentFile(environment: Readonly<Record<string, string>>): string {
    const lines = Object.keys(environment)
        .sort()
        .map((name) => `${name}=${environment[name]}`);
    return ["# Managed by Pulumi (ecommerce WebTier user data). Non-secret settings only.", ...lines, ""].join("\n");
}

/** Installs the release bundle (if any) and starts nginx and the API. */
export function renderBootstrapScript(artifactUri: string | undefined): string {
    const install =
        artifactUri === undefined
            ? [
                  'echo "ecommerce-web: no release bundle configured (ecommerce:webArtifactUri is empty and no baked AMI is used);" >&2',
                  'echo "ecommerce-web: nginx starts, the health check fails until a release is installed." >&2',
                  "systemctl enable --now nginx.service",
                  "exit 0",
              ]
            : [
                  `artifact_uri="${artifactUri}"`,
                  'release="$(basename "$artifact_uri" .tar.gz)"',
                  'release_dir="/opt/ecommerce/releases/$release"',
                  'work="$(mktemp -d)"',
                  "trap 'rm -rf \"$work\"' EXIT",
                  'aws s3 cp --only-show-errors "$artifact_uri" "$work/release.tar.gz"',
                  'rm -rf "$release_dir" && mkdir -p "$release_dir"',
                  'tar -xzf "$work/release.tar.gz" -C "$release_dir" --no-same-owner',
                  'if [ ! -d "$release_dir/site" ] || [ ! -f "$release_dir/api/requirements.txt" ] || [ ! -f "$release_dir/api/wsgi.py" ]; then',
                  '    echo "ecommerce-web: $artifact_uri lacks site/, api/requirements.txt or api/wsgi.py" >&2',
                  "    exit 1",
                  "fi",
                  "python3 -m venv /opt/ecommerce/venv",
                  'if [ -d "$release_dir/api/wheels" ]; then',
                  '    /opt/ecommerce/venv/bin/pip install --no-index --find-links "$release_dir/api/wheels" -r "$release_dir/api/requirements.txt"',
                  "else",
                  '    /opt/ecommerce/venv/bin/pip install -r "$release_dir/api/requirements.txt"',
                  "fi",
                  'ln -sfn "$release_dir" /opt/ecommerce/current',
                  `find ${WEB_ROOT} -mindepth 1 -delete`,
                  `cp -a "$release_dir/site/." ${WEB_ROOT}/`,
                  // AL2023 ships SELinux permissive; if it is enforcing, nginx may still reach gunicorn.
                  "if command -v selinuxenabled >/dev/null && selinuxenabled; then setsebool -P httpd_can_network_connect 1; fi",
                  "systemctl daemon-reload",
                  "nginx -t",
                  `systemctl enable --now ${API_SERVICE} nginx.service`,
              ];
    return [
        "#!/bin/bash",
        "# Managed by Pulumi (ecommerce WebTier user data): installs the release and starts the services.",
        "set -euo pipefail",
        "id -u ecommerce >/dev/null 2>&1 || useradd --system --home-dir /opt/ecommerce --shell /sbin/nologin ecommerce",
        `install -d -m 0755 /opt/ecommerce /opt/ecommerce/releases ${WEB_ROOT}`,
        ...install,
        "",
    ].join("\n");
}

interface WriteFile {
    path: string;
    content: string;
    owner: string;
    permissions: string;
    defer?: boolean;
}

/**
 * The cloud-config document (`#cloud-config` first). Throws with every problem listed when
 * the options are invalid (see userDataProblems).
 */
export function renderWebUserData(o: WebUserDataOptions): string {
    const problems = userDataProblems(o);
    if (problems.length > 0) {
        throw new Error(`web user data: ${problems.join("; ")}`);
    }
    const environment = { HEALTH_CHECK_PATH: o.healthCheckPath, ...(o.environment ?? {}) };
    const envFile: WriteFile = { path: API_ENV_FILE, content: renderEnvironmentFile(environment), owner: "root:root", permissions: "0644" };
    let doc: Record<string, unknown>;
    if (o.source === "bakedAmi") {
        doc = {
            write_files: [envFile],
            runcmd: [["systemctl", "enable", "--now", API_SERVICE, "nginx.service"]],
        };
    } else {
        // Files under /etc/nginx are written after the packages are installed (defer), so the
        // package's own nginx.conf cannot win.
        const deferred = (path: string, content: string, permissions = "0644"): WriteFile => ({
            path,
            content,
            owner: "root:root",
            permissions,
            defer: true,
        });
        doc = {
            package_update: true,
            // AL2023 pins its repositories to the AMI's release: upgrades come with a new AMI
            // (resolved at every launch), not with a boot-time upgrade.
            package_upgrade: false,
            packages: ["nginx", "python3", "python3-pip", "awscli-2", "tar"],
            write_files: [
                envFile,
                { path: "/etc/ecommerce/gunicorn.conf.py", content: renderGunicornConfig(), owner: "root:root", permissions: "0644" },
                { path: `/etc/systemd/system/${API_SERVICE}`, content: renderApiUnit(), owner: "root:root", permissions: "0644" },
                { path: BOOTSTRAP_SCRIPT, content: renderBootstrapScript(o.artifactUri), owner: "root:root", permissions: "0755" },
                deferred("/etc/nginx/nginx.conf", renderNginxMain()),
                deferred("/etc/nginx/conf.d/shop.conf", renderNginxSite(o.healthCheckPath)),
            ],
            runcmd: [[BOOTSTRAP_SCRIPT]],
        };
    }
    const header = [
        "#cloud-config",
        "# Web/API server of the e-commerce platform, rendered by lib/webUserData.ts.",
        `# Application source: ${o.source === "bakedAmi" ? "baked AMI (services only)" : `release bundle ${o.artifactUri ?? "(none configured)"}`}.`,
        "# No secrets here: the app reads them from Secrets Manager at runtime.",
    ].join("\n");
    return `${header}\n${stringify(doc, { lineWidth: 0 })}`;
}
