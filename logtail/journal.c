#include "logtail/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "logtail/lt_int.h"
#include "logtail/sdj.h"

#define J_COMP           "journald"
#define STATE_FILE       "journald.state"
#define REOPEN_MS        10000
#define FIELD_CAP_FIRST  65536 /* a too-large event first has its values cut to this */
#define COREDUMP_ID      "MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1"
#define LT_JOURNAL_HEAD  "head" /* saved position: the start of the journal */
#define FAST_FIELDS      128    /* entry_json_fast: fields of one entry */
#define FAST_NAMES_BYTES 4096

#define SDJ(r) (&(r)->owner->sdj)

struct pend {
    uint64_t seq;
    char *cursor;
};

struct reader {
    struct lt_journal *owner;
    unsigned idx;
    sd_journal *j;
    int fd;
    char *key;
    void *ud;
    int priority;
    char **units;
    size_t n_units;
    char ***matches;
    size_t *n_pairs, n_matches;
    struct lt_re *re;
    bool *exclude;
    size_t n_re, n_include;
    enum lt_journal_format format;
    char *committed; /* cursor saved (or loaded) */
    bool readable, at_entry, dirty;
    int64_t next_open_ms;
    uint64_t seq;
    struct pend *ring;
    size_t head, count;
};

struct saved {
    char *key, *cursor;
};

struct lt_journal {
    struct lt_sdj sdj; /* libsystemd, loaded when the first journald source is set up */
    char *state_dir, *directory;
    size_t max_event;
    int epfd;
    struct reader **r;
    size_t n;
    size_t rr;
    struct saved *saved;
    size_t n_saved;
    bool dirty;
    char *msg;          /* the last event's message */
    struct lt_dec dec;  /* MESSAGE to valid UTF-8 */
    struct cw_buf jbuf; /* entry_json_fast */
    bool dec_ok;
    struct lt_journal_stats st;
};

/* ---- saved cursors ------------------------------------------------------------------------ */

static void load_state(struct lt_journal *j)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", j->state_dir, STATE_FILE);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        line[strcspn(line, "\n")] = '\0';
        char *tab = strchr(line, '\t');
        if (!tab || !tab[1])
            continue;
        *tab = '\0';
        struct saved *s = realloc(j->saved, (j->n_saved + 1) * sizeof *s);
        if (!s)
            break;
        j->saved = s;
        s[j->n_saved].key = strdup(line);
        s[j->n_saved].cursor = strdup(tab + 1);
        if (!s[j->n_saved].key || !s[j->n_saved].cursor) {
            free(s[j->n_saved].key);
            free(s[j->n_saved].cursor);
            break;
        }
        j->n_saved++;
    }
    free(line);
    fclose(f);
}

static const char *saved_cursor(const struct lt_journal *j, const char *key)
{
    for (size_t i = 0; i < j->n_saved; i++)
        if (strcmp(j->saved[i].key, key) == 0)
            return j->saved[i].cursor;
    return NULL;
}

int lt_journal_save(struct lt_journal *j)
{
    if (!j || !j->dirty || !j->state_dir)
        return 0;
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", j->state_dir, STATE_FILE);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        cw_error(J_COMP, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < j->n; i++)
        if (j->r[i]->committed)
            fprintf(f, "%s\t%s\n", j->r[i]->key, j->r[i]->committed);
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        cw_error(J_COMP, "cannot save journal cursors to %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    int dfd = open(j->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    j->dirty = false;
    return 0;
}

/* ---- opening and positioning -------------------------------------------------------------- */

static int add_unit(struct reader *r, const char *unit)
{
    sd_journal *sj = r->j;
    char u[300], m[400];
    snprintf(u, sizeof u, "%s%s", unit, strchr(unit, '.') ? "" : ".service");
    int rc = 0;
    snprintf(m, sizeof m, "_SYSTEMD_UNIT=%s", u);
    rc |= SDJ(r)->add_match(sj, m, 0) | SDJ(r)->add_disjunction(sj);
    snprintf(m, sizeof m, "UNIT=%s", u);
    rc |= SDJ(r)->add_match(sj, "_PID=1", 0) | SDJ(r)->add_match(sj, m, 0);
    rc |= SDJ(r)->add_disjunction(sj);
    snprintf(m, sizeof m, "OBJECT_SYSTEMD_UNIT=%s", u);
    rc |= SDJ(r)->add_match(sj, "_UID=0", 0) | SDJ(r)->add_match(sj, m, 0);
    rc |= SDJ(r)->add_disjunction(sj);
    snprintf(m, sizeof m, "COREDUMP_UNIT=%s", u);
    rc |= SDJ(r)->add_match(sj, COREDUMP_ID, 0) | SDJ(r)->add_match(sj, "_UID=0", 0) |
          SDJ(r)->add_match(sj, m, 0);
    rc |= SDJ(r)->add_disjunction(sj);
    return rc < 0 ? -1 : 0;
}

/* (matches) AND (units) AND (priority), as journalctl builds them. */
static int add_matches(struct reader *r)
{
    sd_journal *sj = r->j;
    int rc = 0;
    for (size_t i = 0; i < r->n_matches; i++) {
        for (size_t k = 0; k < r->n_pairs[i]; k++)
            rc |= SDJ(r)->add_match(sj, r->matches[i][k], 0);
        rc |= SDJ(r)->add_disjunction(sj);
    }
    if (r->n_matches)
        rc |= SDJ(r)->add_conjunction(sj);
    for (size_t i = 0; i < r->n_units; i++)
        rc |= add_unit(r, r->units[i]);
    if (r->n_units)
        rc |= SDJ(r)->add_conjunction(sj);
    if (r->priority < 7) {
        for (int p = 0; p <= r->priority; p++) {
            char m[24];
            snprintf(m, sizeof m, "PRIORITY=%d", p);
            rc |= SDJ(r)->add_match(sj, m, 0);
        }
    }
    return rc < 0 ? -1 : 0;
}

/* "s=<id>;i=<hex seq>;..." → the seqnum id and number, 0 when absent. */
static int cursor_seq(const char *c, char *id, size_t idlen, uint64_t *seq)
{
    const char *s = strstr(c, "s="), *i = strstr(c, ";i=");
    if (!s || !i || (size_t)(i - s - 2) >= idlen)
        return -1;
    memcpy(id, s + 2, (size_t)(i - s - 2));
    id[i - s - 2] = '\0';
    *seq = strtoull(i + 3, NULL, 16);
    return 0;
}

static void report_vacuumed(struct reader *r, const char *want)
{
    char *now = NULL;
    char a[64], b[64];
    uint64_t sa = 0, sb = 0;
    if (SDJ(r)->get_cursor(r->j, &now) >= 0 && cursor_seq(want, a, sizeof a, &sa) == 0 &&
        cursor_seq(now, b, sizeof b, &sb) == 0 && strcmp(a, b) == 0 && sb > sa + 1) {
        r->owner->st.skipped_vacuumed += sb - sa - 1;
        cw_warn(J_COMP,
                "%s: the saved cursor is no longer in the journal (vacuumed); %" PRIu64
                " entries were removed before they could be read; resuming at the oldest entry",
                r->key, sb - sa - 1);
    } else {
        cw_warn(J_COMP,
                "%s: the saved cursor is no longer in the journal (vacuumed or another "
                "journal); resuming at the nearest entry, the number skipped is unknown",
                r->key);
    }
    free(now);
}

/* Records where a first start began as the saved position, so that a crash before the first
 * delivery resumes there instead of taking "the last 10" again (which would skip entries). */
static void mark_start(struct reader *r)
{
    char *c = NULL;
    if (r->at_entry && SDJ(r)->previous(r->j) > 0) {
        if (SDJ(r)->get_cursor(r->j, &c) < 0)
            c = NULL;
        SDJ(r)->next(r->j);
    }
    free(r->committed);
    r->committed = c ? c : strdup(LT_JOURNAL_HEAD);
    r->owner->dirty = true;
    lt_journal_save(r->owner);
}

static void position(struct reader *r)
{
    const char *c = r->committed;
    if (c && strcmp(c, LT_JOURNAL_HEAD) == 0) {
        SDJ(r)->seek_head(r->j);
        cw_info(J_COMP, "%s: resuming at the start of the journal (saved position)", r->key);
        return;
    }
    if (c && SDJ(r)->seek_cursor(r->j, c) >= 0 && SDJ(r)->next(r->j) > 0) {
        if (SDJ(r)->test_cursor(r->j, c) > 0) {
            cw_info(J_COMP, "%s: resuming after the saved cursor", r->key);
            return; /* that entry was delivered: read from the next one */
        }
        report_vacuumed(r, c);
        r->at_entry = true;
        return;
    }
    if (c) { /* nothing at or after the cursor yet */
        SDJ(r)->seek_tail(r->j);
        SDJ(r)->previous(r->j);
        cw_info(J_COMP, "%s: resuming after the saved cursor (no newer entry yet)", r->key);
        return;
    }
    SDJ(r)->seek_tail(r->j);
    int back = SDJ(r)->previous_skip(r->j, LT_JOURNAL_FIRST_TAIL);
    r->at_entry = back > 0;
    if (back <= 0) /* nothing matches yet: from the head, or entries of new files are missed */
        SDJ(r)->seek_head(r->j);
    mark_start(r);
    cw_info(J_COMP,
            "%s: no saved cursor: starting with the last %d entries and following (as "
            "journalctl --follow)",
            r->key, back > 0 ? back : 0);
}

static void close_reader(struct reader *r)
{
    if (!r->j)
        return;
    if (r->fd >= 0)
        epoll_ctl(r->owner->epfd, EPOLL_CTL_DEL, r->fd, NULL);
    SDJ(r)->close(r->j);
    r->j = NULL;
    r->fd = -1;
    r->owner->st.readers_open--;
}

static int open_reader(struct reader *r, int64_t now)
{
    struct lt_journal *o = r->owner;
    int rc = o->directory ? SDJ(r)->open_directory(&r->j, o->directory, 0) : SDJ(r)->open(&r->j, 0);
    if (rc < 0) {
        r->j = NULL;
        r->next_open_ms = now + REOPEN_MS;
        cw_error(J_COMP, "%s: cannot open the journal%s%s: %s; retrying every %d s", r->key,
                 o->directory ? " in " : "", o->directory ? o->directory : "", strerror(-rc),
                 REOPEN_MS / 1000);
        return -1;
    }
    o->st.readers_open++;
    SDJ(r)->set_data_threshold(r->j, 0); /* whole fields, not the first 64 KiB */
    if (add_matches(r) != 0) {
        cw_error(J_COMP, "%s: cannot set the journal matches", r->key);
        close_reader(r);
        r->next_open_ms = now + REOPEN_MS;
        return -1;
    }
    r->fd = SDJ(r)->get_fd(r->j);
    if (r->fd >= 0) {
        struct epoll_event ev = {.events = (uint32_t)SDJ(r)->get_events(r->j)};
        ev.data.ptr = r;
        if (epoll_ctl(o->epfd, EPOLL_CTL_ADD, r->fd, &ev) != 0)
            cw_warn(J_COMP, "%s: cannot watch the journal (%s); polling every second", r->key,
                    strerror(errno));
    }
    position(r);
    r->readable = true;
    return 0;
}

/* ---- events -------------------------------------------------------------------------------- */

/* A value as JSON: a string when valid UTF-8 (cut to cap bytes + marker), else its bytes. */
static json_t *value_json(const char *v, size_t n, size_t cap, bool *cut)
{
    if (!lt_utf8_valid(v, n)) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n && i < cap; i++)
            json_array_append_new(a, json_integer((unsigned char)v[i]));
        *cut |= n > cap;
        return a;
    }
    if (n <= cap)
        return json_stringn(v, n);
    size_t k = lt_utf8_cut(v, n, cap);
    char *t = malloc(k + LT_SPLIT_MARKER_LEN + 1);
    if (!t)
        return NULL;
    memcpy(t, v, k);
    memcpy(t + k, LT_SPLIT_MARKER, LT_SPLIT_MARKER_LEN);
    json_t *s = json_stringn(t, k + LT_SPLIT_MARKER_LEN);
    free(t);
    *cut = true;
    return s;
}

static void set_field(json_t *body, const char *name, json_t *val)
{
    json_t *old = json_object_get(body, name);
    if (!old) {
        json_object_set_new(body, name, val);
        return;
    }
    /* a list of values holds strings or byte arrays; a binary value is an array of integers */
    if (!json_is_array(old) || json_is_integer(json_array_get(old, 0))) {
        json_t *a = json_array();
        json_array_append(a, old);
        json_object_set_new(body, name, a);
        old = a;
    }
    json_array_append_new(old, val);
}

static char *entry_json(struct reader *r, const char *cursor, size_t cap, bool *cut)
{
    json_t *body = json_object();
    const void *d;
    size_t n;
    uint64_t mono;
    sd_id128_t boot;
    if (!body)
        return NULL;
    json_object_set_new(body, "__CURSOR", json_string(cursor));
    if (SDJ(r)->get_monotonic_usec(r->j, &mono, &boot) >= 0) {
        char m[32];
        snprintf(m, sizeof m, "%" PRIu64, mono);
        json_object_set_new(body, "__MONOTONIC_TIMESTAMP", json_string(m));
    }
    for (SDJ(r)->restart_data(r->j); SDJ(r)->enumerate_data(r->j, &d, &n) > 0;) {
        const char *s = d, *eq = memchr(s, '=', n);
        if (!eq || eq == s || (size_t)(eq - s) > 255)
            continue;
        char name[256];
        memcpy(name, s, (size_t)(eq - s));
        name[eq - s] = '\0';
        json_t *v = value_json(eq + 1, n - (size_t)(eq - s) - 1, cap, cut);
        if (v)
            set_field(body, name, v);
    }
    json_t *root = json_pack("{s:o}", "body", body);
    char *out = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    return out;
}

/* s as a JSON string (valid UTF-8 in): '"', '\\' and control characters escaped as jansson
 * does, everything else verbatim. */
static int json_str(struct cw_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;
    int rc = cw_buf_append_char(b, '"');
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rc |= cw_buf_append(b, s + start, i - start);
        start = i + 1;
        char esc[7] = {'\\', (char)c, 0};
        switch (c) {
        case '\n':
            esc[1] = 'n';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '"':
        case '\\':
            break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
        }
        rc |= cw_buf_append_str(b, esc);
    }
    rc |= cw_buf_append(b, s + start, n - start);
    return rc | cw_buf_append_char(b, '"');
}

static int json_bytes(struct cw_buf *b, const char *v, size_t n)
{
    int rc = cw_buf_append_char(b, '[');
    for (size_t i = 0; i < n && rc == 0; i++)
        rc |= cw_buf_printf(b, i ? ",%u" : "%u", (unsigned)(unsigned char)v[i]);
    return rc | cw_buf_append_char(b, ']');
}

/* entry_json without jansson for the common entry: no repeated field, nothing to cut. NULL when
 * the entry needs the general path (a repeated field, too many or too long names, too big). */
static char *entry_json_fast(struct reader *r, const char *cursor)
{
    struct cw_buf *b = &r->owner->jbuf;
    char arena[FAST_NAMES_BYTES];
    size_t off[FAST_FIELDS], len[FAST_FIELDS], nn = 0, used = 0;
    const void *d;
    size_t n;
    uint64_t mono;
    sd_id128_t boot;
    cw_buf_reset(b);
    int rc = cw_buf_append_str(b, "{\"body\":{\"__CURSOR\":") | json_str(b, cursor, strlen(cursor));
    if (SDJ(r)->get_monotonic_usec(r->j, &mono, &boot) >= 0)
        rc |= cw_buf_printf(b, ",\"__MONOTONIC_TIMESTAMP\":\"%" PRIu64 "\"", mono);
    for (SDJ(r)->restart_data(r->j); SDJ(r)->enumerate_data(r->j, &d, &n) > 0;) {
        const char *f = d, *eq = memchr(f, '=', n);
        if (!eq || eq == f || (size_t)(eq - f) > 255)
            continue;
        size_t nl = (size_t)(eq - f);
        for (size_t k = 0; k < nn; k++)
            if (len[k] == nl && memcmp(arena + off[k], f, nl) == 0)
                return NULL; /* repeated: an array of values */
        if (nn == FAST_FIELDS || used + nl > sizeof arena)
            return NULL;
        memcpy(arena + used, f, nl);
        off[nn] = used;
        len[nn++] = nl;
        used += nl;
        const char *v = eq + 1;
        size_t vl = n - nl - 1;
        rc |= cw_buf_append_char(b, ',') | json_str(b, f, nl) | cw_buf_append_char(b, ':');
        rc |= lt_utf8_valid(v, vl) ? json_str(b, v, vl) : json_bytes(b, v, vl);
        if (rc)
            return NULL;
    }
    if (rc || cw_buf_append_str(b, "}}") != 0)
        return NULL;
    return strndup(b->data, b->len);
}

static char *entry_message(struct reader *r, size_t cap, bool *cut)
{
    const void *d;
    size_t n;
    const char *out;
    size_t outlen;
    if (SDJ(r)->get_data(r->j, "MESSAGE", &d, &n) < 0)
        return strdup("");
    if (lt_dec_run(&r->owner->dec, (const char *)d + 8, n - 8, false, &out, &outlen) != 0)
        return NULL;
    if (outlen > cap) {
        outlen = lt_utf8_cut(out, outlen, cap);
        *cut = true;
    }
    return strndup(out, outlen);
}

/* The message of the current entry, cut until it fits max_event. */
static char *build_message(struct reader *r, const char *cursor, size_t max, bool *cut)
{
    size_t cap = SIZE_MAX / 4;
    if (r->format == LT_JOURNAL_JSON) {
        char *m = entry_json_fast(r, cursor);
        if (m && strlen(m) <= max)
            return m;
        free(m);
    }
    for (;;) {
        char *m = r->format == LT_JOURNAL_MESSAGE ? entry_message(r, max, cut)
                                                  : entry_json(r, cursor, cap, cut);
        if (!m || strlen(m) <= max || cap < 64)
            return m;
        free(m);
        cap = cap > FIELD_CAP_FIRST ? FIELD_CAP_FIRST : cap / 4;
    }
}

static bool passes(struct reader *r, const char *m, size_t n)
{
    bool any_include = false;
    for (size_t i = 0; i < r->n_re; i++) {
        bool hit = lt_re_match(&r->re[i], m, n, NULL, NULL) == 1;
        if (r->exclude[i] && hit)
            return false;
        if (!r->exclude[i] && hit)
            any_include = true;
    }
    return r->n_include == 0 || any_include;
}

static int push_pending(struct reader *r, char *cursor)
{
    size_t i = (r->head + r->count) % LT_JOURNAL_MAX_PENDING;
    r->ring[i] = (struct pend){++r->seq, cursor};
    r->count++;
    r->owner->st.pending++;
    return 0;
}

/* Reads the next entry of r. 1 with ev filled, 0 when none now. */
static int reader_next(struct reader *r, struct lt_journal_event *ev)
{
    struct lt_journal *o = r->owner;
    while (r->j && r->readable && r->count < LT_JOURNAL_MAX_PENDING) {
        if (r->at_entry)
            r->at_entry = false;
        else {
            int rc = SDJ(r)->next(r->j);
            if (rc <= 0) {
                r->readable = false;
                if (rc < 0)
                    cw_warn(J_COMP, "%s: reading the journal: %s", r->key, strerror(-rc));
                return 0;
            }
        }
        char *cursor = NULL;
        uint64_t usec = 0;
        if (SDJ(r)->get_cursor(r->j, &cursor) < 0 || !cursor)
            continue;
        SDJ(r)->get_realtime_usec(r->j, &usec);
        bool cut = false;
        char *m = build_message(r, cursor, o->max_event, &cut);
        if (!m) {
            cw_error(J_COMP, "%s: out of memory building an event", r->key);
            free(cursor);
            r->at_entry = true;
            return 0;
        }
        o->st.entries++;
        size_t len = strlen(m);
        if (len == 0 || !passes(r, m, len)) {
            o->st.filtered++;
            push_pending(r, cursor); /* committed with the next delivered entry */
            free(m);
            if (r->count == 1) /* nothing before it in flight: commit right away */
                lt_journal_commit(o, r->idx, r->seq);
            continue;
        }
        o->st.truncated += cut;
        push_pending(r, cursor);
        free(o->msg);
        o->msg = m;
        ev->source_ud = r->ud;
        ev->reader = r->idx;
        ev->seq = r->seq;
        ev->timestamp_ms = (int64_t)(usec / 1000);
        ev->message = m;
        ev->len = len;
        return 1;
    }
    return 0;
}

int lt_journal_next(struct lt_journal *j, struct lt_journal_event *ev)
{
    for (size_t k = 0; k < j->n; k++) {
        struct reader *r = j->r[(j->rr + k) % j->n];
        if (reader_next(r, ev) == 1) {
            j->rr = (j->rr + k) % j->n; /* stay on this reader while it has entries */
            return 1;
        }
    }
    return 0;
}

void lt_journal_commit(struct lt_journal *j, unsigned reader, uint64_t seq)
{
    if (reader >= j->n)
        return;
    struct reader *r = j->r[reader];
    char *last = NULL;
    while (r->count && r->ring[r->head].seq <= seq) {
        free(last);
        last = r->ring[r->head].cursor;
        r->head = (r->head + 1) % LT_JOURNAL_MAX_PENDING;
        r->count--;
        j->st.pending--;
    }
    if (last) {
        free(r->committed);
        r->committed = last;
        j->dirty = true;
    }
}

/* ---- set --------------------------------------------------------------------------------- */

struct lt_journal *lt_journal_new(const struct lt_journal_options *o)
{
    struct lt_journal *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->epfd = epoll_create1(EPOLL_CLOEXEC);
    j->max_event = o->max_event_size ? o->max_event_size : LT_MAX_EVENT_DEFAULT;
    j->state_dir = o->state_dir ? strdup(o->state_dir) : NULL;
    j->directory = o->directory ? strdup(o->directory) : NULL;
    if (j->epfd < 0 || (o->state_dir && !j->state_dir) || (o->directory && !j->directory)) {
        cw_error(J_COMP, "cannot create the journal reader: %s", strerror(errno));
        lt_journal_free(j);
        return NULL;
    }
    char why[256];
    if (lt_sdj_load(&j->sdj, why, sizeof why) != 0) {
        cw_error(J_COMP, "cannot read the systemd journal: %s", why);
        lt_journal_free(j);
        return NULL;
    }
    cw_buf_init(&j->jbuf, (size_t)2 * LT_API_EVENT_MAX);
    j->dec_ok = lt_dec_init(&j->dec, NULL, why, sizeof why) == 0;
    if (j->state_dir) {
        if (mkdir(j->state_dir, 0700) != 0 && errno != EEXIST) {
            cw_error(J_COMP, "cannot create %s: %s", j->state_dir, strerror(errno));
            lt_journal_free(j);
            return NULL;
        }
        load_state(j);
    }
    return j;
}

static char **dup_list(const char *const *v, size_t n)
{
    char **out = calloc(n ? n : 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++)
        if (!(out[i] = strdup(v[i])))
            return out; /* caller sees the NULL */
    return out;
}

static int copy_config(struct reader *r, const struct lt_journal_config *c, char *err,
                       size_t errlen)
{
    r->priority = c->priority;
    r->format = c->format;
    r->ud = c->source_ud;
    r->key = strdup(c->key ? c->key : "journald");
    r->units = dup_list(c->units, c->n_units);
    r->n_units = c->n_units;
    r->matches = calloc(c->n_matches ? c->n_matches : 1, sizeof *r->matches);
    r->n_pairs = calloc(c->n_matches ? c->n_matches : 1, sizeof *r->n_pairs);
    r->ring = calloc(LT_JOURNAL_MAX_PENDING, sizeof *r->ring);
    r->re = calloc(c->n_filters ? c->n_filters : 1, sizeof *r->re);
    r->exclude = calloc(c->n_filters ? c->n_filters : 1, sizeof *r->exclude);
    if (!r->key || !r->units || !r->matches || !r->n_pairs || !r->ring || !r->re || !r->exclude) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < c->n_matches; i++) {
        r->matches[i] = dup_list(c->matches[i], c->n_pairs[i]);
        r->n_pairs[i] = c->n_pairs[i];
        r->n_matches++;
        if (!r->matches[i]) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    for (size_t i = 0; i < c->n_filters; i++) {
        char why[256];
        if (lt_re_compile(&r->re[i], c->filters[i].expression, why, sizeof why) != 0) {
            snprintf(err, errlen, "filters[%zu].expression: %s", i, why);
            return -1;
        }
        r->n_re++;
        r->exclude[i] = c->filters[i].type == LT_FILTER_EXCLUDE;
        r->n_include += !r->exclude[i];
    }
    return 0;
}

static void free_reader(struct reader *r)
{
    if (!r)
        return;
    close_reader(r);
    for (size_t i = 0; r->units && i < r->n_units; i++)
        free(r->units[i]);
    free(r->units);
    for (size_t i = 0; i < r->n_matches; i++) {
        for (size_t k = 0; r->matches[i] && k < r->n_pairs[i]; k++)
            free(r->matches[i][k]);
        free(r->matches[i]);
    }
    free(r->matches);
    free(r->n_pairs);
    for (size_t i = 0; i < r->n_re; i++)
        lt_re_free(&r->re[i]);
    free(r->re);
    free(r->exclude);
    for (size_t i = 0; r->ring && i < r->count; i++)
        free(r->ring[(r->head + i) % LT_JOURNAL_MAX_PENDING].cursor);
    free(r->ring);
    free(r->committed);
    free(r->key);
    free(r);
}

int lt_journal_add(struct lt_journal *j, const struct lt_journal_config *c, char *err,
                   size_t errlen)
{
    struct reader *r = calloc(1, sizeof *r);
    struct reader **v = realloc(j->r, (j->n + 1) * sizeof *v);
    if (!r || !v) {
        free(r);
        if (v)
            j->r = v;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->r = v;
    r->owner = j;
    r->fd = -1;
    r->idx = (unsigned)j->n;
    if (copy_config(r, c, err, errlen) != 0) {
        free_reader(r);
        return -1;
    }
    const char *sc = saved_cursor(j, r->key);
    if (sc && !(r->committed = strdup(sc))) {
        free_reader(r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->r[j->n++] = r;
    j->st.readers++;
    open_reader(r, 0);
    return 0;
}

int lt_journal_fd(const struct lt_journal *j)
{
    return j->epfd;
}

void lt_journal_on_readable(struct lt_journal *j)
{
    struct epoll_event evs[16];
    int n = epoll_wait(j->epfd, evs, 16, 0);
    for (int i = 0; i < n; i++) {
        struct reader *r = evs[i].data.ptr;
        if (r->j && SDJ(r)->process(r->j) >= 0)
            r->readable = true;
    }
}

void lt_journal_tick(struct lt_journal *j, int64_t now_ms)
{
    for (size_t i = 0; i < j->n; i++) {
        struct reader *r = j->r[i];
        if (!r->j && now_ms >= r->next_open_ms)
            open_reader(r, now_ms);
        if (r->j) {
            SDJ(r)->process(r->j); /* also the safety net for a missed notification */
            r->readable = true;
        }
    }
}

bool lt_journal_has_work(const struct lt_journal *j)
{
    for (size_t i = 0; i < j->n; i++)
        if (j->r[i]->j && j->r[i]->readable && j->r[i]->count < LT_JOURNAL_MAX_PENDING)
            return true;
    return false;
}

void lt_journal_stats(const struct lt_journal *j, struct lt_journal_stats *out)
{
    *out = j->st;
}

void lt_journal_free(struct lt_journal *j)
{
    if (!j)
        return;
    lt_journal_save(j);
    for (size_t i = 0; i < j->n; i++)
        free_reader(j->r[i]);
    free(j->r);
    for (size_t i = 0; i < j->n_saved; i++) {
        free(j->saved[i].key);
        free(j->saved[i].cursor);
    }
    free(j->saved);
    if (j->epfd >= 0)
        close(j->epfd);
    free(j->msg);
    if (j->dec_ok)
        lt_dec_free(&j->dec);
    cw_buf_free(&j->jbuf);
    free(j->state_dir);
    free(j->directory);
    lt_sdj_unload(&j->sdj);
    free(j);
}
