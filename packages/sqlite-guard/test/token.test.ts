import { describe, expect, it } from "vitest";
import { extensionPath, claimGuardToken, setDeadline, setReadOnly, GUARD_ERRORS } from "../src/index.js";
import { DRIVERS, errorOf, open, tempDir } from "./helpers.js";

describe.each(DRIVERS)("guard token through %s", (driver) => {
  it("is 32 hex characters on the first call and refused afterwards", () => {
    const db = open(driver, ":memory:");
    const token = db.query("SELECT hranad_guard_token()");
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    expect(errorOf(() => db.query("SELECT hranad_guard_token()"))).toEqual({
      code: "SQLITE_AUTH",
      message: GUARD_ERRORS.tokenClaimed,
    });
    expect(errorOf(() => claimGuardToken(db.query)).code).toBe("SQLITE_AUTH");
  });

  it("differs between connections", () => {
    const a = claimGuardToken(open(driver, ":memory:").query);
    const b = claimGuardToken(open(driver, ":memory:").query);
    expect(a).not.toBe(b);
  });

  it("keeps the first token when the extension is loaded twice on a connection", () => {
    const db = open(driver, ":memory:");
    const token = claimGuardToken(db.query);
    setReadOnly(db.query, token, true);
    db.loadExtension();
    expect(errorOf(() => db.query("SELECT hranad_guard_token()")).code).toBe("SQLITE_AUTH");
    expect(errorOf(() => db.exec("CREATE TABLE t(a)")).code).toBe("SQLITE_AUTH"); // the guard is still on
    expect(setDeadline(db.query, token, 50)).toBe(0);
  });

  it("does not exist on a connection without the extension", () => {
    const db = open(driver, ":memory:", { load: false });
    expect(errorOf(() => db.query("SELECT hranad_guard_token()")).message).toContain("no such function");
  });

  it("refuses a wrong token for readonly and deadline and changes nothing", () => {
    const dir = tempDir();
    const db = open(driver, `${dir}/t.db`);
    const token = claimGuardToken(db.query);
    const wrong = token.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    db.exec("CREATE TABLE t(a)");
    for (const bad of [wrong, token.toUpperCase(), token.slice(0, 31), `${token}0`, ""]) {
      expect(errorOf(() => setReadOnly(db.query, bad, true))).toEqual({
        code: "SQLITE_AUTH",
        message: GUARD_ERRORS.wrongToken,
      });
      expect(errorOf(() => setDeadline(db.query, bad, 10)).code).toBe("SQLITE_AUTH");
    }
    expect(errorOf(() => db.query("SELECT hranad_guard_readonly(NULL, 1)")).code).toBe("SQLITE_AUTH");
    expect(errorOf(() => db.query("SELECT hranad_guard_deadline(x'00', 1)")).code).toBe("SQLITE_AUTH");
    // Nothing changed: writes still pass and the deadline is still none.
    db.run("INSERT INTO t VALUES (1)");
    expect(setDeadline(db.query, token, 0)).toBe(0);
    expect(setReadOnly(db.query, token, false)).toBe(false);
  });

  it("refuses any token before one was claimed", () => {
    const db = open(driver, ":memory:");
    expect(errorOf(() => db.query("SELECT hranad_guard_readonly('', 1)")).code).toBe("SQLITE_AUTH");
    expect(errorOf(() => db.query("SELECT hranad_guard_deadline(?, 1)", "0".repeat(32))).code).toBe("SQLITE_AUTH");
  });

  it("validates the switch arguments", () => {
    const db = open(driver, ":memory:");
    const token = claimGuardToken(db.query);
    for (const on of ["2", "-1", "'1'", "NULL", "0.5"]) {
      expect(errorOf(() => db.query(`SELECT hranad_guard_readonly(?, ${on})`, token)).code).toBe("SQLITE_MISUSE");
    }
    for (const ms of ["-1", "2147483648", "'10'", "NULL", "1.5"]) {
      expect(errorOf(() => db.query(`SELECT hranad_guard_deadline(?, ${ms})`, token)).code).toBe("SQLITE_MISUSE");
    }
    expect(db.query("SELECT hranad_guard_readonly(?, 1.0)", token)).toBe(1);
    expect(() => setDeadline(db.query, token, -1)).toThrow(RangeError);
    expect(() => setDeadline(db.query, token, 1.5)).toThrow(RangeError);
  });

  it("cannot be used from a view or a trigger (the functions are direct-only)", () => {
    const db = open(driver, ":memory:");
    db.exec("CREATE VIEW v AS SELECT hranad_guard_token() AS t");
    expect(errorOf(() => db.query("SELECT t FROM v")).message).toContain("unsafe use of hranad_guard_token()");
    // The token is still unclaimed: the driver can claim it.
    expect(claimGuardToken(db.query)).toMatch(/^[0-9a-f]{32}$/);
  });

  it("is loaded from the path the package exports", () => {
    expect(extensionPath).toMatch(/\/build\/sqliteguard\.so$/);
    const db = open(driver, ":memory:");
    const names = db.all("SELECT name FROM pragma_function_list WHERE name LIKE 'hranad%' ORDER BY name").flat();
    expect(new Set(names)).toEqual(
      new Set([
        "hranad_describe",
        "hranad_guard_attach",
        "hranad_guard_deadline",
        "hranad_guard_dirty",
        "hranad_guard_interrupt",
        "hranad_guard_interrupt_key",
        "hranad_guard_readonly",
        "hranad_guard_token",
      ]),
    );
  });
});
