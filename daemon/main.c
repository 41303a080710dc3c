/*
 * pulsebotd: start-up, reload and shutdown. Reads the configuration, opens the store, starts
 * the loop, the HTTP server and client, the engine and the connectors, tells systemd it is
 * ready, and then lives in the loop until SIGTERM. SIGHUP reloads the configuration; a bad
 * one is refused and the running one stays.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "checkin.h"
#include "clock.h"
#include "config.h"
#include "core_http.h"
#include "engine.h"
#include "http_client.h"
#include "http_server.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "plugin.h"
#include "roster.h"
#include "schedule.h"
#include "store.h"
#include "token.h"

#define MOD           "main"
#define MAX_INSTANCES 16
/* Re-check at least this often, so a jump of the wall clock cannot delay work for long. */
#define MAX_SLEEP_MS (60 * 60 * 1000)

struct daemon {
    const char *config_path;
    struct pb_config *cfg;       /* the configuration the engine uses now */
    struct pb_config *first_cfg; /* the one connectors were created from; kept until exit */
    struct pb_loop *loop;
    struct pb_loop_timer *engine_timer;
    struct pb_http_server *server;
    struct pb_http_client *http;
    struct pb_store *store;
    struct pb_token_key key;
    struct pb_engine *engine;
    struct pb_instance *instances[MAX_INSTANCES];
    size_t n_instances;
    int lock_fd;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: pulsebotd [-c FILE] [--check-config FILE] [--config-reference]\n"
                 "  -c, --config FILE       run with this configuration\n"
                 "                          (default /etc/pulsebot/pulsebot.conf)\n"
                 "      --check-config FILE check a configuration, print every problem as\n"
                 "                          file:line: message, and exit (0 when it is good)\n"
                 "      --config-reference  print every configuration key as Markdown\n"
                 "  -V, --version           print the version\n");
}

static void print_diag(const struct pb_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(stderr, "%s\n", d->lines[i]);
}

/* The option table of a connector's module, loading the module to learn it. */
static const struct pb_option *module_options(void *arg, const struct pb_config *cfg,
                                              const struct pb_cfg_connector *c, char *err,
                                              size_t errlen)
{
    struct pb_module *m;
    if (!cfg->daemon.plugin_dir) {
        snprintf(err, errlen, "no plugin_dir to load the module from");
        return NULL;
    }
    if (pb_module_load(cfg->daemon.plugin_dir, c->type, &m, err, errlen) != PB_OK)
        return NULL;
    return pb_module_info(m)->options;
}

/* Loads a configuration, checking each connector block against its module's options in the
 * same pass, so that one run reports every problem in line order. */
static int load_config(const char *path, struct pb_config **out, struct pb_diag *diag)
{
    return pb_config_load_with(path, module_options, NULL, out, diag);
}

/* What each schedule will do: who it reaches and its next times (schedule_describe.c). */
static void print_schedules(const struct pb_config *cfg)
{
    pb_schedule_describe(stdout, cfg, pb_now_ms());
}

static int check_config(const char *path)
{
    struct pb_diag diag = {0};
    struct pb_config *cfg = NULL;
    int rc = load_config(path, &cfg, &diag);
    print_diag(&diag);
    pb_diag_free(&diag);
    if (rc == 0) {
        print_diag(&cfg->warnings); /* rows of the roster CSV that were skipped */
        printf("%s: configuration is valid\n", path);
        print_schedules(cfg);
    }
    pb_config_free(cfg);
    pb_module_unload_all();
    return rc == 0 ? 0 : 1;
}

/* Rows of the roster CSV that were skipped: the rest loaded, and someone should fix these. */
static void log_warnings(const struct pb_config *cfg)
{
    for (size_t i = 0; i < cfg->warnings.n; i++)
        pb_warn(MOD, "%s", cfg->warnings.lines[i]);
}

static void rearm_engine(struct daemon *d)
{
    int64_t next = pb_engine_next_due(d->engine);
    if (next == PB_ENGINE_IDLE) {
        pb_loop_timer_arm(d->engine_timer, MAX_SLEEP_MS);
        return;
    }
    int64_t delay = next - pb_now_ms();
    pb_loop_timer_arm(d->engine_timer, (uint64_t)(delay < 0              ? 0
                                                  : delay > MAX_SLEEP_MS ? MAX_SLEEP_MS
                                                                         : delay));
}

static void engine_tick(void *arg)
{
    struct daemon *d = arg;
    pb_engine_run(d->engine);
    rearm_engine(d);
}

/* Something became due at once: run the engine on the next loop turn, not inside the caller,
 * which may be in the middle of a connector callback. */
static void engine_wake(void *arg)
{
    struct daemon *d = arg;
    if (d->engine_timer)
        pb_loop_timer_arm(d->engine_timer, 0);
}

/* Connectors are created once at start: a reload may change anything but their names and
 * types (their own options are read at start too, and a change is logged as such). */
static int same_connectors(const struct pb_config *a, const struct pb_config *b)
{
    if (a->n_connectors != b->n_connectors)
        return 0;
    for (size_t i = 0; i < a->n_connectors; i++)
        if (strcmp(a->connectors[i].name, b->connectors[i].name) != 0 ||
            strcmp(a->connectors[i].type, b->connectors[i].type) != 0)
            return 0;
    return 1;
}

static void reload(struct daemon *d)
{
    pb_notify_reloading();
    pb_notice(MOD, "reloading %s", d->config_path);
    struct pb_diag diag = {0};
    struct pb_config *cfg = NULL;
    if (load_config(d->config_path, &cfg, &diag) != 0) {
        for (size_t i = 0; i < diag.n; i++)
            pb_err(MOD, "%s", diag.lines[i]);
        pb_err(MOD,
               "the new configuration has %zu problem(s) and was not applied; the running "
               "one stays. Fix them and reload again (pulsebotd --check-config %s)",
               diag.n, d->config_path);
        pb_diag_free(&diag);
        pb_notify_ready("running; the last reload was refused");
        return;
    }
    pb_diag_free(&diag);
    log_warnings(cfg);
    if (!same_connectors(cfg, d->first_cfg)) {
        /* Messages would be queued for connectors that are not running. */
        pb_err(MOD, "the new configuration adds, removes or renames connectors, which needs a "
                    "restart (systemctl restart pulsebot); it was not applied");
        pb_config_free(cfg);
        pb_notify_ready("running; the last reload was refused");
        return;
    }
    if (pb_engine_reconfigure(d->engine, cfg) != PB_OK) {
        pb_err(MOD, "the new configuration could not be applied (see above); the running one "
                    "stays");
        pb_config_free(cfg);
        pb_notify_ready("running; the last reload was refused");
        return;
    }
    pb_log_set_level(cfg->daemon.log_level);
    if (d->cfg != d->first_cfg)
        pb_config_free(d->cfg);
    d->cfg = cfg;
    pb_notice(MOD, "configuration reloaded");
    pb_notify_ready("running");
}

static void on_signal(void *arg, int signo)
{
    struct daemon *d = arg;
    if (signo == SIGHUP) {
        reload(d);
        return;
    }
    pb_notice(MOD, "%s received; stopping", strsignal(signo));
    pb_notify_stopping();
    pb_loop_stop(d->loop);
}

static int make_state_dir(const char *dir)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST)
        return 0;
    pb_err(MOD, "cannot create the state directory %s: %s", dir, strerror(errno));
    return -1;
}

/* Two daemons on one store would both send every message in the outbox; the second one to
 * start refuses. The lock dies with the process, even with kill -9. */
static int lock_state(struct daemon *d, const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/pulsebot.lock", dir);
    d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (d->lock_fd < 0 || flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        pb_err(MOD, "%s is in use by another pulsebotd (%s); stop that one first", dir,
               strerror(errno));
        return -1;
    }
    return 0;
}

static int open_state(struct daemon *d)
{
    char path[PATH_MAX], err[1024];
    const char *dir = d->cfg->daemon.state_dir;
    if (make_state_dir(dir) != 0 || lock_state(d, dir) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/pulsebot.db", dir);
    if (pb_store_open(path, &d->store, err, sizeof err) != PB_OK) {
        pb_err(MOD, "%s", err);
        return -1;
    }
    snprintf(path, sizeof path, "%s/signing.key", dir);
    if (pb_token_key_load(path, &d->key, err, sizeof err) != PB_OK) {
        pb_err(MOD, "%s", err);
        return -1;
    }
    return 0;
}

static int start_services(struct daemon *d)
{
    const struct pb_cfg_daemon *dc = &d->cfg->daemon;
    if (pb_loop_create(&d->loop, on_signal, d) != PB_OK)
        return -1;
    struct pb_http_server_config scfg = {dc->listen, dc->port, dc->max_body};
    if (pb_http_server_start(d->loop, &scfg, &d->server) != PB_OK) {
        pb_err(MOD, "cannot listen on %s:%d; is another process using the port?", dc->listen,
               dc->port);
        return -1;
    }
    struct pb_http_client_config ccfg = {.allow_plain_http =
                                             getenv("PULSEBOT_ALLOW_PLAIN") != NULL};
    if (pb_http_client_create(d->loop, &ccfg, &d->http) != PB_OK)
        return -1;
    struct pb_engine_setup setup = {d->store, &d->key, engine_wake, d};
    if (pb_engine_create(&setup, d->cfg, &d->engine) != PB_OK)
        return -1;
    pb_engine_set_http(d->engine, pb_alert_webhook_http, d->http);
    d->engine_timer = pb_loop_timer_new(d->loop, engine_tick, d);
    if (!d->engine_timer)
        return -1;
    if (pb_checkin_http_register(d->server, d->engine) != 0)
        return -1;
    return pb_core_http_register(d->server, d->store) == 0 ? 0 : -1;
}

static int start_connectors(struct daemon *d)
{
    struct pb_services svc = {d->loop,  d->server, d->http,
                              d->store, d->engine, getenv("PULSEBOT_ALLOW_PLAIN") != NULL};
    for (size_t i = 0; i < d->cfg->n_connectors && i < MAX_INSTANCES; i++) {
        const struct pb_cfg_connector *c = &d->cfg->connectors[i];
        struct pb_module *m;
        char err[1024];
        struct pb_instance *in;
        if (pb_module_load(d->cfg->daemon.plugin_dir, c->type, &m, err, sizeof err) != PB_OK) {
            pb_err(MOD, "%s", err);
            return -1;
        }
        if (pb_instance_create(&svc, c, m, &in) != PB_OK)
            return -1;
        d->instances[d->n_instances++] = in;
        if (pb_instance_start(in) != PB_OK) {
            pb_err(MOD, "connector %s did not start; see the lines above", c->name);
            return -1;
        }
    }
    return 0;
}

static void shutdown_daemon(struct daemon *d)
{
    for (size_t i = 0; i < d->n_instances; i++)
        pb_instance_stop(d->instances[i]);
    /* Let the websockets the connectors closed finish closing while they still exist. */
    if (d->loop)
        pb_loop_settle(d->loop, 2000);
    /* In-flight HTTP requests complete as cancelled while their connectors still exist. */
    pb_http_client_destroy(d->http);
    for (size_t i = 0; i < d->n_instances; i++)
        pb_instance_destroy(d->instances[i]);
    if (d->server)
        pb_http_server_stop(d->server);
    if (d->engine_timer)
        pb_loop_timer_free(d->engine_timer);
    pb_engine_destroy(d->engine);
    if (d->loop)
        pb_loop_destroy(d->loop);
    pb_store_close(d->store);
    if (d->lock_fd > 0)
        close(d->lock_fd);
    if (d->cfg != d->first_cfg)
        pb_config_free(d->cfg);
    pb_config_free(d->first_cfg);
    pb_module_unload_all();
}

static int run(const char *path)
{
    struct daemon d = {.config_path = path, .lock_fd = -1};
    struct pb_diag diag = {0};
    if (load_config(path, &d.cfg, &diag) != 0) {
        print_diag(&diag);
        pb_diag_free(&diag);
        fprintf(stderr, "pulsebotd: %s has errors; nothing was started\n", path);
        pb_module_unload_all();
        return 1;
    }
    pb_diag_free(&diag);
    d.first_cfg = d.cfg;
    pb_log_set_level(d.cfg->daemon.log_level);
    log_warnings(d.cfg);
    int rc = 1;
    if (open_state(&d) == 0 && start_services(&d) == 0 && start_connectors(&d) == 0) {
        pb_notice(MOD, "pulsebot %s ready: http://%s:%d/ (state in %s)", PB_VERSION,
                  d.cfg->daemon.listen, pb_http_server_port(d.server), d.cfg->daemon.state_dir);
        char status[128];
        snprintf(status, sizeof status, "running; port %d", pb_http_server_port(d.server));
        pb_notify_ready(status);
        rearm_engine(&d);
        rc = pb_loop_run(d.loop) == 0 ? 0 : 1;
    }
    shutdown_daemon(&d);
    pb_notice(MOD, "stopped");
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, 0, 'c'},
        {"check-config", required_argument, 0, 'k'},
        {"config-reference", no_argument, 0, 'r'},
        {"version", no_argument, 0, 'V'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *path = "/etc/pulsebot/pulsebot.conf";
    pb_log_init();
    int opt;
    while ((opt = getopt_long(argc, argv, "c:Vh", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'k':
            return check_config(optarg);
        case 'r':
            pb_config_reference(stdout);
            return 0;
        case 'V':
            printf("pulsebotd %s (connector ABI %d)\n", PB_VERSION, PB_ABI_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    return run(path);
}
