import { runDriverConformance } from "@hranad/driver/conformance";
import { betterSqlite3Driver } from "../src/index.js";

runDriverConformance("better-sqlite3", () => betterSqlite3Driver);
