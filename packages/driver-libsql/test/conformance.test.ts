import { runDriverConformance } from "@hranad/driver/conformance";
import { libsqlDriver } from "../src/index.js";

// libsql 0.5 truncates bound text at the first NUL: the engine refuses such text instead.
runDriverConformance("libsql", () => libsqlDriver, { textWithNul: "rejected" });
