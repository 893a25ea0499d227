import { defineConfig } from "drizzle-kit";

// The test sets DATABASE_URL (a running hranad, http:// or ws://) and DRIZZLE_OUT (where `generate` writes).
export default defineConfig({
  dialect: "turso",
  schema: "./drizzle/schema.ts",
  out: process.env.DRIZZLE_OUT ?? "./drizzle/migrations",
  dbCredentials: {
    url: process.env.DATABASE_URL ?? "http://127.0.0.1:8080",
    authToken: process.env.DATABASE_AUTH_TOKEN,
  },
});
