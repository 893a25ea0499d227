import { describe, expect, it } from "vitest";
import { litestreamConfig, parseReplication, replicatedNames } from "../src/index.js";

describe("parseReplication", () => {
  it("is null when the section is absent", () => {
    expect(parseReplication(undefined)).toBeNull();
    expect(parseReplication(null)).toBeNull();
  });

  it("reads a file replica with defaults", () => {
    expect(parseReplication({ url: "file:///var/backups/hranad/" })).toEqual({
      url: "file:///var/backups/hranad/",
      target: { kind: "file", path: "/var/backups/hranad" },
      syncIntervalMs: 1000,
      databases: "*",
    });
  });

  it("reads an S3 replica, a sync interval and a list of databases", () => {
    expect(parseReplication({ url: "s3://my-bucket/some/prefix", syncInterval: "250ms", databases: ["a", "b"] })).toEqual({
      url: "s3://my-bucket/some/prefix",
      target: { kind: "s3", bucket: "my-bucket", prefix: "some/prefix" },
      syncIntervalMs: 250,
      databases: ["a", "b"],
    });
    expect(parseReplication({ url: "s3://my-bucket", syncInterval: 2000, databases: ["*"] })?.syncIntervalMs).toBe(2000);
  });

  it.each([
    [[], /^replication: must be a mapping/],
    [{ url: "file:///x", bogus: 1 }, /^replication: unknown key "bogus"/],
    [{}, /^replication\.url: must be a file:\/\/ or s3:\/\/ URL/],
    [{ url: "http://example.com/x" }, /^replication\.url: must be a file:\/\/ or s3:\/\/ URL/],
    [{ url: "/var/backups" }, /^replication\.url:/],
    [{ url: "file://host/x" }, /^replication\.url: a file URL names a local directory/],
    [{ url: "s3://key:secret@bucket/x" }, /^replication\.url: must not carry credentials/],
    [{ url: "s3://B_ad/x" }, /^replication\.url: the bucket name/],
    [{ url: "file:///x", syncInterval: "soon" }, /^replication\.syncInterval: must be a duration/],
    [{ url: "file:///x", syncInterval: "10ms" }, /^replication\.syncInterval: must be at least 100ms/],
    [{ url: "file:///x", databases: "*" }, /^replication\.databases: must be a list/],
    [{ url: "file:///x", databases: [] }, /^replication\.databases: must name at least one/],
    [{ url: "file:///x", databases: ["a", "*"] }, /^replication\.databases\[1\]: "\*" must be the only entry/],
    [{ url: "file:///x", databases: ["a", "a"] }, /^replication\.databases\[1\]: "a" is listed twice/],
    [{ url: "file:///x", databases: ["no/slash"] }, /^replication\.databases\[0\]: must be a database name/],
  ])("refuses %j with the key path", (value, message) => {
    expect(() => parseReplication(value)).toThrow(message);
  });

  it("checks listed names against the served databases", () => {
    const config = parseReplication({ url: "file:///x", databases: ["a", "c"] })!;
    expect(() => replicatedNames(config, ["a", "b"])).toThrow(/^replication\.databases\[1\]: "c" is not one of the server's databases/);
    expect(replicatedNames(parseReplication({ url: "file:///x" })!, ["a", "b"])).toEqual(["a", "b"]);
  });
});

describe("litestreamConfig", () => {
  it("gives each database its own replica under the URL, keyed by name", () => {
    const config = parseReplication({ url: "file:///backups", syncInterval: "2s" })!;
    const document = JSON.parse(litestreamConfig(config, [{ name: "a", path: "/data/a.db" }], { metricsAddress: "127.0.0.1:9" }));
    expect(document).toEqual({
      addr: "127.0.0.1:9",
      dbs: [
        {
          path: "/data/a.db",
          "monitor-interval": "1000ms",
          replicas: [{ name: "file", type: "file", path: "/backups/a", "sync-interval": "2000ms" }],
        },
      ],
    });
  });

  it("takes the S3 endpoint and region from the environment and never writes credentials", () => {
    const config = parseReplication({ url: "s3://bucket/pre" })!;
    const env = { AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9000", AWS_REGION: "eu-west-3", AWS_SECRET_ACCESS_KEY: "secret" };
    const text = litestreamConfig(config, [{ name: "a", path: "/data/a.db" }], { env });
    expect(JSON.parse(text).dbs[0].replicas[0]).toEqual({
      name: "s3",
      type: "s3",
      bucket: "bucket",
      path: "pre/a",
      endpoint: "http://127.0.0.1:9000",
      "force-path-style": true,
      region: "eu-west-3",
      "sync-interval": "1000ms",
    });
    expect(text).not.toContain("secret");
  });
});
