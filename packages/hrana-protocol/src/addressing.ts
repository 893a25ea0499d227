/** Which database a Hrana request addresses, by the URL conventions libSQL clients and sqld share. */

/** The name Hrana paths address when they carry no database segment and no subdomain names a database. */
export const DEFAULT_DATABASE = "default";

/**
 * The database a request addresses: the path's `/<db>` segment, else `<db>.example.com` when `<db>` is a known
 * database (never for IP addresses), else {@link DEFAULT_DATABASE}. `known` tells whether a name is served.
 */
export function addressedDatabase(hostname: string, pathName: string | undefined, known: (name: string) => boolean): string {
  if (pathName !== undefined) return pathName;
  const host = hostname.replace(/:\d+$/, "");
  if (/^[\d.]+$/.test(host) || host.startsWith("[") || host.indexOf(".") < 0) return DEFAULT_DATABASE;
  const first = host.split(".")[0]!;
  return known(first) ? first : DEFAULT_DATABASE;
}

/** A name that came from a URL, safe to echo back in an error message. */
export function printableName(name: string): string {
  return name.length > 64 ? `${name.slice(0, 64)}…` : name.replace(/[^\x20-\x7e]/g, "?");
}
