/**
 * URLs the controller is given (probes, hooks) may carry a token in their query string;
 * what it prints or stores names them without it. Credentials in the user-info part are
 * refused outright: fetch rejects such URLs, so a probe would fail every round and a hook
 * every call.
 */

/** Why `url` is not usable, or undefined. */
export function httpUrlProblem(url: string): string | undefined {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        return `${url} is not a URL; expected http:// or https://`;
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
        return `${parsed.protocol} is not allowed; expected http:// or https://`;
    }
    if (parsed.username !== "" || parsed.password !== "") {
        return "credentials in the URL (user:password@) are not allowed: they would be printed and stored; put a token in a header-less hook path or a query string";
    }
    return undefined;
}

/** The URL as printed and stored: scheme, host, port and path; a query string becomes `?...`. */
export function redactUrl(url: string): string {
    try {
        const parsed = new URL(url);
        return `${parsed.origin}${parsed.pathname}${parsed.search ? "?..." : ""}`;
    } catch {
        return "(not a URL)";
    }
}
