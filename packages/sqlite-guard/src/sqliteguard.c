/*
** sqliteguard: the SQLite loadable extension of hranad.
**
** Loaded into every connection by the drivers, it adds three things SQLite drivers for Node lack:
**
**   1. A per-statement deadline. A trace callback (sqlite3_trace_v2) arms a deadline when a top-level statement
**      starts and disarms it when the statement ends; one watchdog thread per process calls sqlite3_interrupt()
**      on a connection whose statement is past its deadline.
**   2. A read-only guard: an authorizer (sqlite3_set_authorizer) that, while switched on, refuses every write
**      at prepare time, plus PRAGMA query_only=1 underneath it (which also refuses BEGIN IMMEDIATE/EXCLUSIVE).
**      In every mode it refuses load_extension() and file-system access (readfile, writefile, fsdir).
**   3. hranad_describe(sql): parameter names, result columns and flags of a statement, without running it.
**   4. Interrupting a connection from another thread: hranad_guard_interrupt_key(token) gives the connection a
**      secret key, and hranad_guard_interrupt(token, key), called on any guarded connection of any SQLite library in
**      the process (a control connection of the driver's main thread), interrupts the connection holding that key.
**
** Only the driver may switch the guard: it claims a random token with hranad_guard_token() right after loading the
** extension, before any client SQL runs, and passes that token to hranad_guard_readonly, hranad_guard_deadline,
** hranad_guard_attach, hranad_guard_dirty, hranad_guard_interrupt_key and hranad_guard_interrupt.
**
** Threading: each connection is used by one thread at a time (the driver's worker); the watchdog and the callers of
** hranad_guard_interrupt are the only other threads. Everything they read (the list of armed connections, their
** runs, the registry of interrupt keys) is under g_mutex.
**
** One process may hold several SQLite libraries (better-sqlite3, libsql, node:sqlite), all loading this same .so.
** Each library has its own sqlite3_api_routines, so the global `sqlite3_api` of SQLITE_EXTENSION_INIT1 is never used
** after init: every function shadows it with a local `sqlite3_api` taken from the connection's Guard (or, for SQL
** functions, from a per-library slot, because an SQL function needs the API before it can reach its user data).
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GUARD_CLIENTDATA "hranad_sqliteguard"
#define TOKEN_BYTES 16
#define TOKEN_CHARS (2 * TOKEN_BYTES)
#define MAX_DEADLINE_MS 2147483647LL /* same ceiling as setTimeout */
#define MAX_LIBRARIES 4
/* A SCHEMA retry re-prepares right after the failed run ends, inside the same sqlite3_step() call. */
#define RETRY_WINDOW_NS 1000000000LL

#define EXPORT __attribute__((visibility("default")))

/* ------------------------------------------------------------------------------------------------------------ */
/* Per-connection state                                                                                          */
/* ------------------------------------------------------------------------------------------------------------ */

/*
** One run of a top-level statement with a deadline.
**   LIVE:  started (TRACE_STMT) and not ended: enforced.
**   ENDED: TRACE_PROFILE seen before its deadline: not enforced, kept until the next top-level statement starts,
**          because SQLite may re-prepare and re-run the statement inside the same sqlite3_step() call after
**          SQLITE_SCHEMA, and that retry emits no TRACE_STMT (tag-20220401a in SQLite's source).
**   RETRY: an ENDED run seen just before a prepare (the authorizer ran) that follows its end closely: it may be
**          that retry, so it is enforced again with its original deadline until its next TRACE_PROFILE or the next
**          top-level statement. A prepare that comes later, or after the deadline, cannot be the retry (DONE).
**   DONE:  ended after its deadline or after the watchdog interrupted it: such a run is not retried (it failed with
**          SQLITE_INTERRUPT, not SQLITE_SCHEMA), so it is never enforced again and a prepare that follows it is safe.
*/
typedef enum { RUN_LIVE, RUN_ENDED, RUN_RETRY, RUN_DONE } RunState;

typedef struct Run {
  sqlite3_stmt *stmt; /* identity only: never dereferenced */
  int64_t at_ns;      /* CLOCK_MONOTONIC deadline */
  int64_t ended_ns;   /* when TRACE_PROFILE came (ENDED runs) */
  RunState state;
  int fired;          /* the watchdog already interrupted the connection for this run */
} Run;

typedef struct Guard Guard;
struct Guard {
  const sqlite3_api_routines *api; /* the SQLite library this connection belongs to */
  sqlite3 *db;
  int ready;                       /* functions, trace and authorizer are installed */

  /* Touched only by the connection's own thread. */
  int token_claimed;
  char token[TOKEN_CHARS + 1];
  int readonly;
  int internal;                    /* >0 while the guard runs its own SQL (PRAGMA query_only) */
  int deny_attach;                 /* hranad_guard_attach(token, 0): ATTACH of files refused even when writable */
  int dirty;                       /* a statement was prepared that leaves state behind on the connection */
  sqlite3_int64 deadline_ms;       /* 0 = no deadline */

  /* Shared with the watchdog: written under g_mutex. The counters are written only by the connection's thread, so
  ** that thread may read them without the lock (fast paths of the callbacks). */
  Run *runs;
  int nruns, cap;
  int nactive;                     /* LIVE + RETRY runs */
  int nended, nretry;
  int linked;                      /* in g_armed */
  Guard *prev, *next;

  /* The interrupt key, and the registry of keyed connections (g_keyed): written and read under g_mutex. A Guard
  ** leaves the registry when sqlite3_close() starts (TRACE_CLOSE), so always before its sqlite3 is freed. */
  int key_made;
  int keyed;                       /* in g_keyed */
  char key[TOKEN_CHARS + 1];
  Guard *key_prev, *key_next;
};

/* ------------------------------------------------------------------------------------------------------------ */
/* The watchdog                                                                                                  */
/* ------------------------------------------------------------------------------------------------------------ */

static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond;            /* CLOCK_MONOTONIC; initialised with the thread */
static int g_started;                    /* the watchdog thread runs */
static Guard *g_armed;                   /* connections with at least one run */
static Guard *g_keyed;                   /* connections with an interrupt key */
static int64_t g_next_wake = INT64_MAX;  /* when the watchdog looks next; INT64_MAX: only when signalled */
static const sqlite3_api_routines *g_library[MAX_LIBRARIES];

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *watchdog_main(void *unused) {
  (void)unused;
  pthread_mutex_lock(&g_mutex);
  for (;;) {
    int64_t now = now_ns();
    int64_t next = INT64_MAX;
    for (Guard *g = g_armed; g; g = g->next) {
      int fire = 0;
      for (int i = 0; i < g->nruns; i++) {
        Run *r = &g->runs[i];
        if ((r->state != RUN_LIVE && r->state != RUN_RETRY) || r->fired) continue;
        if (r->at_ns <= now) {
          r->fired = 1;
          fire = 1;
        } else if (r->at_ns < next) {
          next = r->at_ns;
        }
      }
      /* Lock-free in SQLite (an atomic store), and safe from any thread; g->db stays valid while linked. */
      if (fire) g->api->interruptx(g->db);
    }
    g_next_wake = next;
    if (next == INT64_MAX) {
      pthread_cond_wait(&g_cond, &g_mutex);
    } else {
      struct timespec ts = {(time_t)(next / 1000000000LL), (long)(next % 1000000000LL)};
      pthread_cond_timedwait(&g_cond, &g_mutex, &ts);
    }
  }
  return NULL;
}

/* Under g_mutex. Starts the process-wide watchdog thread once. */
static int start_watchdog(void) {
  pthread_condattr_t attr;
  pthread_attr_t tattr;
  pthread_t thread;
  int rc;
  if (g_started) return 0;
  if (pthread_condattr_init(&attr)) return -1;
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  rc = pthread_cond_init(&g_cond, &attr);
  pthread_condattr_destroy(&attr);
  if (rc) return -1;
  pthread_attr_init(&tattr);
  pthread_attr_setdetachstate(&tattr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&tattr, 64 * 1024);
  rc = pthread_create(&thread, &tattr, watchdog_main, NULL);
  pthread_attr_destroy(&tattr);
  if (rc) {
    pthread_cond_destroy(&g_cond);
    return -1;
  }
  g_started = 1;
  return 0;
}

/* Under g_mutex: wakes the watchdog when a deadline is earlier than its next look. */
static void wake_for(int64_t at_ns) {
  if (at_ns < g_next_wake) {
    g_next_wake = at_ns;
    pthread_cond_signal(&g_cond);
  }
}

/* Under g_mutex: keeps g in g_armed exactly while it has runs. */
static void sync_link(Guard *g) {
  if (g->nruns > 0 && !g->linked) {
    g->prev = NULL;
    g->next = g_armed;
    if (g_armed) g_armed->prev = g;
    g_armed = g;
    g->linked = 1;
  } else if (g->nruns == 0 && g->linked) {
    if (g->prev) g->prev->next = g->next; else g_armed = g->next;
    if (g->next) g->next->prev = g->prev;
    g->prev = g->next = NULL;
    g->linked = 0;
  }
}

/* Under g_mutex: the key no longer names g (it is closing). */
static void unlink_key(Guard *g) {
  if (!g->keyed) return;
  if (g->key_prev) g->key_prev->key_next = g->key_next; else g_keyed = g->key_next;
  if (g->key_next) g->key_next->key_prev = g->key_prev;
  g->key_prev = g->key_next = NULL;
  g->keyed = 0;
}

/* Under g_mutex. */
static void clear_runs(Guard *g) {
  g->nruns = g->nactive = g->nended = g->nretry = 0;
  sync_link(g);
}

/* Under g_mutex: a top-level statement starts. No other statement of this connection is executing now (a nested
** one would not be top-level), so ENDED and RETRY runs are over: drop them, then arm this one. */
static void begin_run(Guard *g, sqlite3_stmt *stmt) {
  int j = 0;
  for (int i = 0; i < g->nruns; i++) {
    Run *r = &g->runs[i];
    if (r->state != RUN_LIVE || r->stmt == stmt) continue;
    g->runs[j++] = *r;
  }
  g->nruns = g->nactive = j;
  g->nended = g->nretry = 0;
  if (g->deadline_ms > 0) {
    if (g->nruns == g->cap) {
      int cap = g->cap ? 2 * g->cap : 4;
      Run *runs = realloc(g->runs, (size_t)cap * sizeof(Run));
      if (runs == NULL) { /* out of memory: this statement runs without a deadline */
        sync_link(g);
        return;
      }
      g->runs = runs;
      g->cap = cap;
    }
    Run *r = &g->runs[g->nruns++];
    r->stmt = stmt;
    r->at_ns = now_ns() + g->deadline_ms * 1000000LL;
    r->state = RUN_LIVE;
    r->fired = 0;
    g->nactive++;
    wake_for(r->at_ns);
  }
  sync_link(g);
}

/* Under g_mutex: the statement ended (done, error, reset or finalized). */
static void end_run(Guard *g, sqlite3_stmt *stmt) {
  int64_t now = now_ns();
  for (int i = 0; i < g->nruns; i++) {
    Run *r = &g->runs[i];
    if (r->stmt != stmt || (r->state != RUN_LIVE && r->state != RUN_RETRY)) continue;
    if (r->state == RUN_RETRY) g->nretry--;
    g->nactive--;
    if (r->fired || r->at_ns <= now) {
      r->state = RUN_DONE;
    } else {
      r->state = RUN_ENDED;
      r->ended_ns = now;
      g->nended++;
    }
  }
}

/* Under g_mutex: a prepare is starting; an ENDED run may be re-prepared and retried (see RunState). */
static void suspect_retries(Guard *g) {
  int64_t now = now_ns();
  for (int i = 0; i < g->nruns; i++) {
    Run *r = &g->runs[i];
    if (r->state != RUN_ENDED) continue;
    if (now >= r->at_ns || now - r->ended_ns > RETRY_WINDOW_NS) {
      r->state = RUN_DONE; /* an idle pooled connection must not be interrupted when it is used again */
      continue;
    }
    r->state = RUN_RETRY;
    g->nretry++;
    g->nactive++;
    wake_for(r->at_ns);
  }
  g->nended = 0;
}

/* Under g_mutex: the statement produced a row, so a RETRY run is really running (a cursor that counts). */
static void confirm_run(Guard *g, sqlite3_stmt *stmt) {
  for (int i = 0; i < g->nruns; i++) {
    Run *r = &g->runs[i];
    if (r->stmt == stmt && r->state == RUN_RETRY) {
      r->state = RUN_LIVE;
      g->nretry--;
    }
  }
}

static int guard_trace(unsigned type, void *arg, void *p, void *x) {
  Guard *g = arg;
  const sqlite3_api_routines *sqlite3_api = g->api;
  switch (type) {
    case SQLITE_TRACE_STMT:
      /* Top-level iff SQLite hands us the statement's own SQL pointer: a trigger passes "-- TRIGGER name" and a
      ** statement nested in another (run by a function or a virtual table) passes a "-- " copy. Comparing
      ** pointers, not text, means a client cannot dodge its deadline by starting its SQL with a comment. */
      if ((const char *)x != sqlite3_sql((sqlite3_stmt *)p)) return 0;
      if (g->deadline_ms <= 0 && g->nruns == 0) return 0;
      pthread_mutex_lock(&g_mutex);
      begin_run(g, (sqlite3_stmt *)p);
      pthread_mutex_unlock(&g_mutex);
      return 0;
    case SQLITE_TRACE_PROFILE:
      if (g->nactive == 0) return 0;
      pthread_mutex_lock(&g_mutex);
      end_run(g, (sqlite3_stmt *)p);
      pthread_mutex_unlock(&g_mutex);
      return 0;
    case SQLITE_TRACE_ROW:
      if (g->nretry == 0) return 0;
      pthread_mutex_lock(&g_mutex);
      confirm_run(g, (sqlite3_stmt *)p);
      pthread_mutex_unlock(&g_mutex);
      return 0;
    case SQLITE_TRACE_CLOSE:
      /* sqlite3_close() starts. If it fails with SQLITE_BUSY, or leaves a zombie, later statements re-arm; the
      ** Guard itself is freed by guard_destroy when SQLite really frees the connection. A closed connection is
      ** interrupted by nobody (a zombie left by sqlite3_close_v2 included); one whose close failed gets its key back
      ** from hranad_guard_interrupt_key. */
      pthread_mutex_lock(&g_mutex);
      clear_runs(g);
      unlink_key(g);
      pthread_mutex_unlock(&g_mutex);
      return 0;
    default:
      return 0;
  }
}

/* ------------------------------------------------------------------------------------------------------------ */
/* The read-only guard                                                                                           */
/* ------------------------------------------------------------------------------------------------------------ */

/* PRAGMAs whose argument (if any) names an object or a limit, never a new setting: allowed with or without one. */
static const char *const k_pragma_any[] = {
  "foreign_key_check", "foreign_key_list", "index_info", "index_list", "index_xinfo", "integrity_check",
  "quick_check", "table_info", "table_list", "table_xinfo", NULL,
};

/* PRAGMAs that only read while they have no argument (with one, most of them change a setting). */
static const char *const k_pragma_bare[] = {
  "analysis_limit", "application_id", "auto_vacuum", "automatic_index", "busy_timeout", "cache_size", "cache_spill",
  "cell_size_check", "checkpoint_fullfsync", "collation_list", "compile_options", "data_version", "database_list",
  "defer_foreign_keys", "encoding", "foreign_keys", "freelist_count", "fullfsync", "function_list",
  "hard_heap_limit", "ignore_check_constraints", "journal_mode", "journal_size_limit", "legacy_alter_table",
  "locking_mode", "max_page_count", "mmap_size", "module_list", "page_count", "page_size", "pragma_list",
  "query_only", "read_uncommitted", "recursive_triggers", "reverse_unordered_selects", "schema_version",
  "secure_delete", "soft_heap_limit", "stats", "synchronous", "temp_store", "threads", "trusted_schema",
  "user_version", "wal_autocheckpoint", NULL,
};

/* PRAGMAs with an argument that act once instead of changing a setting of the connection. */
static const char *const k_pragma_actions[] = {
  "incremental_vacuum", "optimize", "shrink_memory", "wal_checkpoint", NULL,
};

/* Functions refused in every mode: SQL-level extension loading, and file-system access (libsql 0.5 compiles in the
** fileio extension: readfile/writefile reach any file the server can; sqlite3mc_* change or reveal cipher settings). */
static const char *const k_functions_denied[] = {
  "load_extension", "readfile", "writefile", "edit", "sqlite3mc_config", "sqlite3mc_codec_data", NULL,
};

/* Virtual table modules refused in every mode (fileio's fsdir lists and reads the server's file system). */
static const char *const k_modules_denied[] = {"fsdir", NULL};

static int in_list(const sqlite3_api_routines *sqlite3_api, const char *const *list, const char *name) {
  for (; *list; list++) {
    if (sqlite3_stricmp(*list, name) == 0) return 1;
  }
  return 0;
}

static int guard_authorize(void *arg, int action, const char *a1, const char *a2, const char *a3,
                           const char *a4) {
  Guard *g = arg;
  const sqlite3_api_routines *sqlite3_api = g->api;
  (void)a4;
  if (g->nended > 0) {
    pthread_mutex_lock(&g_mutex);
    suspect_retries(g);
    pthread_mutex_unlock(&g_mutex);
  }
  /* Refused in every mode. The driver loads extensions through the C API, which the authorizer does not see. */
  if (action == SQLITE_FUNCTION && a2 && in_list(sqlite3_api, k_functions_denied, a2)) return SQLITE_DENY;
  if (action == SQLITE_CREATE_VTABLE && a2 && in_list(sqlite3_api, k_modules_denied, a2)) return SQLITE_DENY;
  if (action == SQLITE_READ && a1 && in_list(sqlite3_api, k_modules_denied, a1)) return SQLITE_DENY; /* eponymous */
  if (g->internal) return SQLITE_OK;
  /* State that outlives a transaction (settings, temp objects, attached databases) must not reach the next user of
  ** a pooled connection: remember it, so the driver can discard the connection instead of handing it on. Marked at
  ** prepare time, so a statement that then fails (or is only described) also marks: that errs on the safe side. */
  switch (action) {
    case SQLITE_PRAGMA:
      if (a2 != NULL && a1 != NULL && !in_list(sqlite3_api, k_pragma_any, a1) &&
          !in_list(sqlite3_api, k_pragma_actions, a1)) {
        g->dirty = 1;
      }
      break;
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_ATTACH:
      g->dirty = 1;
      break;
    case SQLITE_CREATE_VTABLE:
      if (a3 != NULL && sqlite3_stricmp(a3, "temp") == 0) g->dirty = 1;
      break;
    default:
      break;
  }
  if (!g->readonly) {
    /* ATTACH of a real file lets a client open any file the server can reach; VACUUM's own ATTACH is of "".
    ** SQLite passes NULL when the file name is not a literal (an expression, a parameter): refuse those too. */
    if (action == SQLITE_ATTACH && g->deny_attach && (a1 == NULL || (a1[0] && strcmp(a1, ":memory:") != 0))) {
      return SQLITE_DENY;
    }
    return SQLITE_OK;
  }
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
    case SQLITE_TRANSACTION: /* BEGIN IMMEDIATE/EXCLUSIVE are stopped by PRAGMA query_only (SQLITE_READONLY) */
    case SQLITE_SAVEPOINT:
      return SQLITE_OK;
    case SQLITE_PRAGMA:
      if (a1 == NULL) return SQLITE_DENY;
      if (in_list(sqlite3_api, k_pragma_any, a1)) return SQLITE_OK;
      if (a2 == NULL && in_list(sqlite3_api, k_pragma_bare, a1)) return SQLITE_OK;
      return SQLITE_DENY;
    default:
      /* Every write path: INSERT/UPDATE/DELETE, CREATE/DROP/ALTER (temp too), ATTACH (so VACUUM and VACUUM INTO,
      ** which attach internally), DETACH, REINDEX, ANALYZE, virtual table create/drop, and any future code. */
      return SQLITE_DENY;
  }
}

/* ------------------------------------------------------------------------------------------------------------ */
/* SQL functions                                                                                                 */
/* ------------------------------------------------------------------------------------------------------------ */

static void fail(const sqlite3_api_routines *sqlite3_api, sqlite3_context *ctx, int code, const char *msg) {
  sqlite3_result_error(ctx, msg, -1);
  sqlite3_result_error_code(ctx, code);
}

/* The text of a secret argument (a token or a key): TOKEN_CHARS characters, else NULL. */
static const unsigned char *secret_arg(const sqlite3_api_routines *sqlite3_api, sqlite3_value *v) {
  const unsigned char *t;
  if (sqlite3_value_type(v) != SQLITE_TEXT) return NULL;
  t = sqlite3_value_text(v);
  if (t == NULL || sqlite3_value_bytes(v) != TOKEN_CHARS) return NULL;
  return t;
}

/* Constant-time comparison of TOKEN_CHARS characters. */
static int same_secret(const unsigned char *t, const char *secret) {
  unsigned diff = 0;
  for (int i = 0; i < TOKEN_CHARS; i++) diff |= (unsigned)(t[i] ^ (unsigned char)secret[i]);
  return diff == 0;
}

/* Constant-time comparison with the claimed token. */
static int token_ok(const sqlite3_api_routines *sqlite3_api, Guard *g, sqlite3_value *v) {
  const unsigned char *t;
  if (!g->token_claimed) return 0;
  t = secret_arg(sqlite3_api, v);
  return t != NULL && same_secret(t, g->token);
}

/* TOKEN_BYTES random bytes from SQLite's CSPRNG as TOKEN_CHARS lowercase hex characters (and a NUL). */
static void random_secret(const sqlite3_api_routines *sqlite3_api, char *out) {
  static const char hex[] = "0123456789abcdef";
  unsigned char raw[TOKEN_BYTES];
  sqlite3_randomness(TOKEN_BYTES, raw);
  for (int i = 0; i < TOKEN_BYTES; i++) {
    out[2 * i] = hex[raw[i] >> 4];
    out[2 * i + 1] = hex[raw[i] & 15];
  }
  out[TOKEN_CHARS] = 0;
}

/* An integer argument (an integral REAL is accepted too, as some drivers bind every JS number as REAL). */
static int integer_arg(const sqlite3_api_routines *sqlite3_api, sqlite3_value *v, sqlite3_int64 *out) {
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER:
      *out = sqlite3_value_int64(v);
      return 1;
    case SQLITE_FLOAT: {
      double d = sqlite3_value_double(v);
      if (d != d || d < -9.0e15 || d > 9.0e15 || d != (double)(sqlite3_int64)d) return 0;
      *out = (sqlite3_int64)d;
      return 1;
    }
    default:
      return 0;
  }
}

/* hranad_guard_token(): the token, once per connection. */
static void fn_token(const sqlite3_api_routines *sqlite3_api, sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  Guard *g = sqlite3_user_data(ctx);
  (void)argc;
  (void)argv;
  if (g->token_claimed) {
    fail(sqlite3_api, ctx, SQLITE_AUTH, "guard token already claimed");
    return;
  }
  random_secret(sqlite3_api, g->token);
  g->token_claimed = 1;
  sqlite3_result_text(ctx, g->token, TOKEN_CHARS, SQLITE_TRANSIENT);
}

/* hranad_guard_readonly(token, on): switches the read-only guard; returns the new state. */
static void fn_readonly(const sqlite3_api_routines *sqlite3_api, sqlite3_context *ctx, int argc,
                        sqlite3_value **argv) {
  Guard *g = sqlite3_user_data(ctx);
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  sqlite3_int64 on;
  char *err = NULL;
  int rc;
  (void)argc;
  if (!token_ok(sqlite3_api, g, argv[0])) {
    fail(sqlite3_api, ctx, SQLITE_AUTH, "wrong guard token");
    return;
  }
  if (!integer_arg(sqlite3_api, argv[1], &on) || (on != 0 && on != 1)) {
    fail(sqlite3_api, ctx, SQLITE_MISUSE, "hranad_guard_readonly: on must be 0 or 1");
    return;
  }
  /* query_only underneath the authorizer: it also refuses BEGIN IMMEDIATE/EXCLUSIVE, which the authorizer cannot
  ** tell from BEGIN. Switching it off also clears a query_only the connection had set itself. */
  g->internal++;
  rc = sqlite3_exec(db, on ? "PRAGMA query_only=1" : "PRAGMA query_only=0", NULL, NULL, &err);
  g->internal--;
  if (rc != SQLITE_OK) {
    fail(sqlite3_api, ctx, rc, err ? err : "hranad_guard_readonly: cannot set query_only");
    sqlite3_free(err);
    return;
  }
  g->readonly = (int)on;
  /* Re-installing the authorizer expires every prepared statement of the connection (advisory: a running one may
  ** finish), so a cached statement is re-prepared, and re-authorized, the next time it starts. */
  sqlite3_set_authorizer(db, guard_authorize, g);
  sqlite3_result_int(ctx, (int)on);
}

/* hranad_guard_deadline(token, ms): sets the per-statement deadline (0 = none); returns the previous one. */
static void fn_deadline(const sqlite3_api_routines *sqlite3_api, sqlite3_context *ctx, int argc,
                        sqlite3_value **argv) {
  Guard *g = sqlite3_user_data(ctx);
  sqlite3_int64 ms, previous;
  (void)argc;
  if (!token_ok(sqlite3_api, g, argv[0])) {
    fail(sqlite3_api, ctx, SQLITE_AUTH, "wrong guard token");
    return;
  }
  if (!integer_arg(sqlite3_api, argv[1], &ms) || ms < 0 || ms > MAX_DEADLINE_MS) {
    fail(sqlite3_api, ctx, SQLITE_MISUSE, "hranad_guard_deadline: ms must be an integer from 0 to 2147483647");
    return;
  }
  previous = g->deadline_ms;
  g->deadline_ms = ms; /* read only by this connection's thread, in guard_trace */
  sqlite3_result_int64(ctx, previous);
}

/* hranad_guard_attach(token, allow): additive to the contract; with allow=0, ATTACH of a file is refused even while
** the read-only guard is off (":memory:" and "" — a private temporary database — stay allowed). Returns allow. */
static void fn_attach(const sqlite3_api_routines *sqlite3_api, sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  Guard *g = sqlite3_user_data(ctx);
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  sqlite3_int64 allow;
  (void)argc;
  if (!token_ok(sqlite3_api, g, argv[0])) {
    fail(sqlite3_api, ctx, SQLITE_AUTH, "wrong guard token");
    return;
  }
  if (!integer_arg(sqlite3_api, argv[1], &allow) || (allow != 0 && allow != 1)) {
    fail(sqlite3_api, ctx, SQLITE_MISUSE, "hranad_guard_attach: allow must be 0 or 1");
    return;
  }
  g->deny_attach = !allow;
  sqlite3_set_authorizer(db, guard_authorize, g); /* expire prepared statements, as above */
  sqlite3_result_int(ctx, (int)allow);
}

/* hranad_guard_dirty(token): whether the connection holds state beyond its database (a setting PRAGMA, a temp
** object, an attached database) since the last call; clears the mark. */
static void fn_dirty(const sqlite3_api_routines *sqlite3_api, sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  Guard *g = sqlite3_user_data(ctx);
  (void)argc;
  if (!token_ok(sqlite3_api, g, argv[0])) {
    fail(sqlite3_api, ctx, SQLITE_AUTH, "wrong guard token");
    return;
  }
  sqlite3_result_int(ctx, g->dirty);
  g->dirty = 0;
}

/* hranad_guard_interrupt_key(token): this connection's interrupt key, made (and registered) on the first call, the
** same afterwards; it names the connection until sqlite3_close() starts. The
** key only names the connection for hranad_guard_interrupt, which itself needs a guard token: the key can travel to
** another thread without giving it any power over this connection's guard. */
static void fn_interrupt_key(const sqlite3_api_routines *sqlite3_api, sqlite3_context *ctx, int argc,
                             sqlite3_value **argv) {
  Guard *g = sqlite3_user_data(ctx);
  char key[TOKEN_CHARS + 1];
  (void)argc;
  if (!token_ok(sqlite3_api, g, argv[0])) {
    fail(sqlite3_api, ctx, SQLITE_AUTH, "wrong guard token");
    return;
  }
  pthread_mutex_lock(&g_mutex);
  if (!g->key_made) {
    random_secret(sqlite3_api, g->key);
    g->key_made = 1;
  }
  if (!g->keyed) {
    g->key_prev = NULL;
    g->key_next = g_keyed;
    if (g_keyed) g_keyed->key_prev = g;
    g_keyed = g;
    g->keyed = 1;
  }
  memcpy(key, g->key, sizeof key);
  pthread_mutex_unlock(&g_mutex);
  sqlite3_result_text(ctx, key, TOKEN_CHARS, SQLITE_TRANSIENT);
}

/* hranad_guard_interrupt(token, key): interrupts whatever the connection holding `key` runs now, from any thread
** and any SQLite library of the process; `token` is the calling connection's own token, so client SQL cannot call it.
** Returns how many connections were interrupted (0 when no live connection holds the key). Like the watchdog, it
** marks the target's armed runs as fired (they ended by interruption, never a SCHEMA retry). On an idle target
** it is a no-op in effect: SQLite clears the flag when the next statement starts and no other one is active. */
static void fn_interrupt(const sqlite3_api_routines *sqlite3_api, sqlite3_context *ctx, int argc,
                         sqlite3_value **argv) {
  Guard *g = sqlite3_user_data(ctx);
  const unsigned char *key;
  int count = 0;
  (void)argc;
  if (!token_ok(sqlite3_api, g, argv[0])) {
    fail(sqlite3_api, ctx, SQLITE_AUTH, "wrong guard token");
    return;
  }
  key = secret_arg(sqlite3_api, argv[1]);
  if (key == NULL) {
    fail(sqlite3_api, ctx, SQLITE_MISUSE, "hranad_guard_interrupt: key must be an interrupt key");
    return;
  }
  pthread_mutex_lock(&g_mutex);
  for (Guard *t = g_keyed; t; t = t->key_next) {
    if (!same_secret(key, t->key)) continue;
    for (int i = 0; i < t->nruns; i++) {
      Run *r = &t->runs[i];
      if (r->state == RUN_LIVE || r->state == RUN_RETRY) r->fired = 1;
    }
    /* An atomic store in SQLite, safe from any thread; t->db stays allocated while t is registered. */
    t->api->interruptx(t->db);
    count++;
  }
  pthread_mutex_unlock(&g_mutex);
  sqlite3_result_int(ctx, count);
}

/* True when z holds more than whitespace, semicolons and comments, i.e. another statement (or garbage). */
static int has_more_sql(const char *z) {
  while (*z) {
    if (*z == ' ' || *z == '\t' || *z == '\n' || *z == '\f' || *z == '\r' || *z == ';') {
      z++;
    } else if (z[0] == '-' && z[1] == '-') {
      for (z += 2; *z && *z != '\n'; z++) {}
    } else if (z[0] == '/' && z[1] == '*') {
      for (z += 2; *z && !(z[0] == '*' && z[1] == '/'); z++) {}
      if (*z) z += 2; /* an unterminated comment runs to the end, as in SQLite */
    } else {
      return 1;
    }
  }
  return 0;
}

static void json_string(const sqlite3_api_routines *sqlite3_api, sqlite3_str *out, const char *s) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s;
  if (s == NULL) {
    sqlite3_str_append(out, "null", 4);
    return;
  }
  sqlite3_str_appendchar(out, 1, '"');
  for (; *p; p++) {
    unsigned c = *p;
    if (c == '"' || c == '\\') {
      sqlite3_str_appendchar(out, 1, '\\');
      sqlite3_str_appendchar(out, 1, (char)c);
    } else if (c < 0x20) {
      switch (c) {
        case '\b': sqlite3_str_append(out, "\\b", 2); break;
        case '\f': sqlite3_str_append(out, "\\f", 2); break;
        case '\n': sqlite3_str_append(out, "\\n", 2); break;
        case '\r': sqlite3_str_append(out, "\\r", 2); break;
        case '\t': sqlite3_str_append(out, "\\t", 2); break;
        default: {
          char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
          sqlite3_str_append(out, u, 6);
        }
      }
    } else {
      sqlite3_str_appendchar(out, 1, (char)c); /* UTF-8 passes through */
    }
  }
  sqlite3_str_appendchar(out, 1, '"');
}

/* hranad_describe(sql): prepares (never runs) the first statement of sql on this connection and describes it. */
static void fn_describe(const sqlite3_api_routines *sqlite3_api, sqlite3_context *ctx, int argc,
                        sqlite3_value **argv) {
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  sqlite3_stmt *stmt = NULL;
  const char *sql, *tail;
  sqlite3_str *out;
  int rc, n;
  (void)argc;
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    fail(sqlite3_api, ctx, SQLITE_MISUSE, "hranad_describe: the argument must be SQL text");
    return;
  }
  sql = (const char *)sqlite3_value_text(argv[0]);
  if (sql == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  /* Skip empty statements (";", comments) until the first real one or the end. */
  tail = sql;
  while (*tail) {
    const char *start = tail;
    rc = sqlite3_prepare_v2(db, start, -1, &stmt, &tail);
    if (rc != SQLITE_OK) {
      /* SQLite's own code and message, e.g. SQLITE_ERROR "no such table: t" or SQLITE_AUTH "not authorized". */
      fail(sqlite3_api, ctx, sqlite3_extended_errcode(db), sqlite3_errmsg(db));
      return;
    }
    if (stmt != NULL || tail == NULL || tail <= start) break;
  }
  out = sqlite3_str_new(db);
  if (stmt == NULL) {
    sqlite3_str_appendall(out, "{\"params\":[],\"columns\":[],\"readonly\":true,\"explain\":0,\"tail\":false,"
                               "\"empty\":true}");
  } else {
    sqlite3_str_appendall(out, "{\"params\":[");
    n = sqlite3_bind_parameter_count(stmt);
    for (int i = 1; i <= n; i++) {
      if (i > 1) sqlite3_str_appendchar(out, 1, ',');
      json_string(sqlite3_api, out, sqlite3_bind_parameter_name(stmt, i));
    }
    sqlite3_str_appendall(out, "],\"columns\":[");
    n = sqlite3_column_count(stmt);
    for (int i = 0; i < n; i++) {
      const char *name = sqlite3_column_name(stmt, i);
      if (name == NULL) { /* only on out-of-memory */
        sqlite3_finalize(stmt);
        sqlite3_free(sqlite3_str_finish(out));
        sqlite3_result_error_nomem(ctx);
        return;
      }
      if (i > 0) sqlite3_str_appendchar(out, 1, ',');
      sqlite3_str_appendall(out, "{\"name\":");
      json_string(sqlite3_api, out, name);
      sqlite3_str_appendall(out, ",\"decltype\":");
      json_string(sqlite3_api, out, sqlite3_column_decltype(stmt, i));
      sqlite3_str_appendchar(out, 1, '}');
    }
    sqlite3_str_appendf(out, "],\"readonly\":%s,\"explain\":%d,\"tail\":%s}",
                        sqlite3_stmt_readonly(stmt) ? "true" : "false", sqlite3_stmt_isexplain(stmt),
                        has_more_sql(tail) ? "true" : "false");
    sqlite3_finalize(stmt);
  }
  if (sqlite3_str_errcode(out) != SQLITE_OK) {
    sqlite3_free(sqlite3_str_finish(out));
    sqlite3_result_error_nomem(ctx);
    return;
  }
  n = sqlite3_str_length(out);
  sqlite3_result_text(ctx, sqlite3_str_finish(out), n, sqlite3_api->free);
}

/* One set of entry points per SQLite library in the process: an SQL function learns its library from its slot. */
typedef void (*SqlFunction)(sqlite3_context *, int, sqlite3_value **);
#define LIBRARY_SLOT(N)                                                                                           \
  static void token_##N(sqlite3_context *c, int n, sqlite3_value **v) { fn_token(g_library[N], c, n, v); }       \
  static void readonly_##N(sqlite3_context *c, int n, sqlite3_value **v) { fn_readonly(g_library[N], c, n, v); } \
  static void deadline_##N(sqlite3_context *c, int n, sqlite3_value **v) { fn_deadline(g_library[N], c, n, v); } \
  static void attach_##N(sqlite3_context *c, int n, sqlite3_value **v) { fn_attach(g_library[N], c, n, v); }     \
  static void dirty_##N(sqlite3_context *c, int n, sqlite3_value **v) { fn_dirty(g_library[N], c, n, v); }       \
  static void describe_##N(sqlite3_context *c, int n, sqlite3_value **v) { fn_describe(g_library[N], c, n, v); } \
  static void interrupt_key_##N(sqlite3_context *c, int n, sqlite3_value **v) {                                  \
    fn_interrupt_key(g_library[N], c, n, v);                                                                     \
  }                                                                                                              \
  static void interrupt_##N(sqlite3_context *c, int n, sqlite3_value **v) { fn_interrupt(g_library[N], c, n, v); }
LIBRARY_SLOT(0)
LIBRARY_SLOT(1)
LIBRARY_SLOT(2)
LIBRARY_SLOT(3)

static const struct {
  SqlFunction token, readonly, deadline, attach, dirty, describe, interrupt_key, interrupt;
} k_slots[MAX_LIBRARIES] = {
  {token_0, readonly_0, deadline_0, attach_0, dirty_0, describe_0, interrupt_key_0, interrupt_0},
  {token_1, readonly_1, deadline_1, attach_1, dirty_1, describe_1, interrupt_key_1, interrupt_1},
  {token_2, readonly_2, deadline_2, attach_2, dirty_2, describe_2, interrupt_key_2, interrupt_2},
  {token_3, readonly_3, deadline_3, attach_3, dirty_3, describe_3, interrupt_key_3, interrupt_3},
};

/* ------------------------------------------------------------------------------------------------------------ */
/* Life cycle                                                                                                    */
/* ------------------------------------------------------------------------------------------------------------ */

/* Destructor of hranad_guard_token: SQLite calls it when the connection is really freed (after a zombie's last
** statement is finalized), so no trace or authorizer callback can follow. */
static void guard_destroy(void *arg) {
  Guard *g = arg;
  pthread_mutex_lock(&g_mutex);
  clear_runs(g);
  unlink_key(g);
  pthread_mutex_unlock(&g_mutex);
  free(g->runs);
  free(g);
}

static int set_error(const sqlite3_api_routines *sqlite3_api, char **pzErrMsg, const char *msg) {
  if (pzErrMsg) *pzErrMsg = sqlite3_mprintf("sqliteguard: %s", msg);
  return SQLITE_ERROR;
}

static int guard_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *sqlite3_api) {
  const int flags = SQLITE_UTF8 | SQLITE_DIRECTONLY; /* never from a view, trigger or schema */
  Guard *g;
  int slot = -1, rc;

  if (sqlite3_libversion_number() < 3044000) return set_error(sqlite3_api, pzErrMsg, "needs SQLite 3.44 or later");
  g = sqlite3_get_clientdata(db, GUARD_CLIENTDATA);
  if (g != NULL && g->ready) return SQLITE_OK; /* loaded twice on one connection: keep the first (and its token) */

  pthread_mutex_lock(&g_mutex);
  for (int i = 0; i < MAX_LIBRARIES && slot < 0; i++) {
    if (g_library[i] == sqlite3_api) slot = i;
  }
  for (int i = 0; i < MAX_LIBRARIES && slot < 0; i++) {
    if (g_library[i] == NULL) {
      g_library[i] = sqlite3_api;
      slot = i;
    }
  }
  rc = start_watchdog();
  pthread_mutex_unlock(&g_mutex);
  if (slot < 0) return set_error(sqlite3_api, pzErrMsg, "too many different SQLite libraries in one process");
  if (rc != 0) return set_error(sqlite3_api, pzErrMsg, "cannot start the watchdog thread");

  if (g == NULL) {
    g = calloc(1, sizeof(Guard));
    if (g == NULL) return SQLITE_NOMEM;
    g->api = sqlite3_api;
    g->db = db;
    /* hranad_guard_token owns g (its destructor frees it): register it first, alone. */
    rc = sqlite3_create_function_v2(db, "hranad_guard_token", 0, flags, g, k_slots[slot].token, NULL, NULL,
                                    guard_destroy);
    if (rc != SQLITE_OK) return set_error(sqlite3_api, pzErrMsg, "cannot register hranad_guard_token");
    /* A marker for a second load on this connection; SQLite drops it at close, without a destructor. */
    rc = sqlite3_set_clientdata(db, GUARD_CLIENTDATA, g, NULL);
    if (rc != SQLITE_OK) return rc;
  }
  rc = sqlite3_create_function_v2(db, "hranad_guard_readonly", 2, flags, g, k_slots[slot].readonly, NULL, NULL, NULL);
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function_v2(db, "hranad_guard_deadline", 2, flags, g, k_slots[slot].deadline, NULL, NULL,
                                    NULL);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function_v2(db, "hranad_guard_attach", 2, flags, g, k_slots[slot].attach, NULL, NULL, NULL);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function_v2(db, "hranad_guard_dirty", 1, flags, g, k_slots[slot].dirty, NULL, NULL, NULL);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function_v2(db, "hranad_describe", 1, flags, g, k_slots[slot].describe, NULL, NULL, NULL);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function_v2(db, "hranad_guard_interrupt_key", 1, flags, g, k_slots[slot].interrupt_key, NULL,
                                    NULL, NULL);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function_v2(db, "hranad_guard_interrupt", 2, flags, g, k_slots[slot].interrupt, NULL, NULL,
                                    NULL);
  }
  if (rc != SQLITE_OK) return set_error(sqlite3_api, pzErrMsg, "cannot register the SQL functions");
  rc = sqlite3_trace_v2(db, SQLITE_TRACE_STMT | SQLITE_TRACE_PROFILE | SQLITE_TRACE_ROW | SQLITE_TRACE_CLOSE,
                        guard_trace, g);
  if (rc != SQLITE_OK) return set_error(sqlite3_api, pzErrMsg, "cannot install the trace callback");
  rc = sqlite3_set_authorizer(db, guard_authorize, g);
  if (rc != SQLITE_OK) return set_error(sqlite3_api, pzErrMsg, "cannot install the authorizer");
  g->ready = 1;
  return SQLITE_OK;
}

/* The default entry point SQLite derives from the file name "sqliteguard.so". */
EXPORT int sqlite3_sqliteguard_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi) {
  SQLITE_EXTENSION_INIT2(pApi);
  return guard_init(db, pzErrMsg, pApi);
}

/* The generic entry point, tried first by SQLite when no entry point name is given. */
EXPORT int sqlite3_extension_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi) {
  return sqlite3_sqliteguard_init(db, pzErrMsg, pApi);
}
