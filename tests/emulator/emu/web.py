"""The emulator's web page: GET / lists the stored dashboards and alarms; GET /dashboards/NAME
renders a dashboard's widgets from what the emulator holds. Metric widgets become SVG graphs of
the stored datums with GetMetricData semantics (each line's stat over the widget's period, newest
3 hours at most), alarm widgets show each alarm's state as DescribeAlarms evaluates it, log widgets
show the newest events of the groups named in their SOURCE, text widgets their markdown heading.
Everything is rendered on the server (the page reloads itself every 10 s); a few lines of script count the widgets and report errors
into data attributes for tests (no network access, no libraries)."""
import html
import json
import re
import time
from urllib.parse import quote, unquote

from . import cloudwatch
from .wire import Response

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
MAX_RANGE = 3 * 3600          # newest 3 hours
MIN_PERIODS = 6               # at least this many periods on the x axis
SVG_W, SVG_H, PAD = 600, 220, 40
STATE_COLORS = {"OK": "#2ca02c", "ALARM": "#d62728", "INSUFFICIENT_DATA": "#7f7f7f"}

STYLE = """
body{font-family:sans-serif;margin:0;background:#f4f5f7;color:#222}
header{background:#232f3e;color:#fff;padding:10px 16px}
header a{color:#ffb84d;margin-right:12px}
main.grid{display:grid;grid-template-columns:repeat(24,1fr);grid-auto-rows:48px;gap:8px;padding:12px}
section.widget{background:#fff;border:1px solid #d5dbdb;border-radius:4px;padding:6px;overflow:hidden}
section.widget h3{font-size:14px;margin:0 0 4px 0}
svg{width:100%;height:calc(100% - 46px)}
ul.legend{list-style:none;margin:0;padding:0;font-size:11px;white-space:nowrap;overflow:hidden}
ul.legend li{display:inline-block;margin-right:10px}
table{border-collapse:collapse;font-size:12px}td,th{padding:2px 8px;text-align:left}
.state{color:#fff;border-radius:3px;padding:1px 6px;font-weight:bold}
pre{font-size:11px;margin:0;white-space:pre-wrap}
"""

SCRIPT = """
(function(){
  var errors=[];
  window.addEventListener('error',function(e){errors.push(String(e.message));});
  function done(){
    var w=document.querySelectorAll('section.widget');
    var withData=document.querySelectorAll('section.widget[data-has-data="1"]');
    document.body.setAttribute('data-widgets',String(w.length));
    document.body.setAttribute('data-widgets-with-data',String(withData.length));
    document.body.setAttribute('data-errors',errors.join('; '));
    document.body.setAttribute('data-rendered','1');
  }
  if(document.readyState==='loading'){document.addEventListener('DOMContentLoaded',done);}else{done();}
})();
"""


def _page(title, body):
    text = ("<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' content='10'>"
            "<title>%s</title><style>%s</style></head>"
            "<body><header><b>cwemu</b> &mdash; <a href='/'>dashboards and alarms</a>%s</header>%s"
            "<script>%s</script></body></html>") % (html.escape(title), STYLE, html.escape(title), body, SCRIPT)
    return Response(200, text, {"Cache-Control": "no-store"}, "text/html; charset=utf-8")


def _metric_spec(line, props):
    """(namespace, name, dimensions, stat, label) of one widget metrics line, or None."""
    if not line or not isinstance(line, list) or isinstance(line[0], dict):
        return None  # expressions are not evaluated by the emulator
    opts = line[-1] if isinstance(line[-1], dict) else {}
    parts = [p for p in line if not isinstance(p, dict)]
    if len(parts) < 2 or len(parts) % 2:
        return None
    dims = [{"Name": parts[i], "Value": parts[i + 1]} for i in range(2, len(parts), 2)]
    stat = opts.get("stat", props.get("stat", "Average"))
    return parts[0], parts[1], dims, stat, opts.get("label") or parts[1]


def _points(store, ns, name, dims, stat, period, now):
    rows = cloudwatch._series(store, ns, name, dims)
    if not rows:
        return []
    first = min(r["timestamp"] for r in rows)
    start = max(now - MAX_RANGE, first - period)
    start -= start % period
    buckets = cloudwatch._buckets(rows, start, now + period, period)
    return [(b, cloudwatch._stat(a, stat)) for b, a in sorted(buckets.items())]


def _svg(series, annotations, yrange, period):
    """An SVG graph of [(label, color, [(t, v)])] with horizontal annotation lines."""
    ts = [t for _, _, pts in series for t, _ in pts]
    vs = [v for _, _, pts in series for _, v in pts] + [a.get("value", 0) for a in annotations]
    t1 = max(ts) if ts else time.time()
    t0 = min(min(ts) if ts else t1, t1 - MIN_PERIODS * period)
    lo = yrange.get("min", min(vs) if vs else 0)
    hi = yrange.get("max", max(vs) if vs else 1)
    if hi <= lo:
        hi = lo + 1
    x = lambda t: PAD + (t - t0) / float(t1 - t0 or 1) * (SVG_W - 2 * PAD)  # noqa: E731
    y = lambda v: SVG_H - PAD + 10 - (v - lo) / float(hi - lo) * (SVG_H - PAD - 10)  # noqa: E731
    out = ["<svg viewBox='0 0 %d %d' preserveAspectRatio='none'>" % (SVG_W, SVG_H + 10)]
    out.append("<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#999'/>" % (PAD, SVG_H - PAD + 10, SVG_W - PAD,
                                                                           SVG_H - PAD + 10))
    out.append("<line x1='%d' y1='10' x2='%d' y2='%d' stroke='#999'/>" % (PAD, PAD, SVG_H - PAD + 10))
    for v in (lo, (lo + hi) / 2.0, hi):
        out.append("<text x='2' y='%.1f' font-size='10'>%.4g</text>" % (y(v) + 3, v))
    out.append("<text x='%d' y='%d' font-size='10'>%s</text>" % (PAD, SVG_H + 5, time.strftime("%H:%M", time.gmtime(t0))))
    out.append("<text x='%d' y='%d' font-size='10' text-anchor='end'>%s UTC</text>"
               % (SVG_W - PAD, SVG_H + 5, time.strftime("%H:%M", time.gmtime(t1))))
    for a in annotations:
        if "value" in a and lo <= a["value"] <= hi:
            out.append("<line class='annotation' x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='#d62728' "
                       "stroke-dasharray='4 3'/>" % (PAD, SVG_W - PAD, y(a["value"]), y(a["value"])))
    for _, color, pts in series:
        if len(pts) == 1:
            out.append("<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>" % (x(pts[0][0]), y(pts[0][1]), color))
        elif pts:
            out.append("<polyline class='line' fill='none' stroke='%s' stroke-width='2' points='%s'/>"
                       % (color, " ".join("%.1f,%.1f" % (x(t), y(v)) for t, v in pts)))
    out.append("</svg>")
    return "".join(out)


def _metric_widget(store, props, now):
    series, points = [], 0
    period = int(props.get("period", 300))
    for i, line in enumerate(props.get("metrics", [])):
        spec = _metric_spec(line, props)
        if spec is None:
            continue
        ns, name, dims, stat, label = spec
        pts = _points(store, ns, name, dims, stat, period, now)
        points += len(pts)
        series.append((label, PALETTE[i % len(PALETTE)], pts))
    annotations = (props.get("annotations") or {}).get("horizontal", [])
    svg = _svg(series, annotations, (props.get("yAxis") or {}).get("left", {}), period)
    legend = "".join("<li><span style='color:%s'>&#9632;</span> %s (%d)</li>" % (c, html.escape(str(l)), len(p))
                     for l, c, p in series)
    return svg + "<ul class='legend'>%s</ul>" % legend, points


def _alarm_widget(store, props, now):
    cloudwatch.evaluate_all(store, now)
    wanted = props.get("alarms", [])
    with store.lock:
        by_arn = {a["AlarmArn"]: a for a in store.alarms.values()}
        rows = [(arn, by_arn.get(arn)) for arn in wanted]
    cells = []
    for arn, a in rows:
        state = a["StateValue"] if a else "NOT FOUND"
        name = a["AlarmName"] if a else arn
        cells.append("<tr><td><span class='state' data-state='%s' style='background:%s'>%s</span></td>"
                     "<td>%s</td><td>%s</td></tr>" % (state, STATE_COLORS.get(state, "#000"), state,
                                                      html.escape(name),
                                                      html.escape(a.get("StateReason", "") if a else "")))
    return "<table>%s</table>" % "".join(cells), sum(1 for _, a in rows if a)


def _log_widget(store, props):
    groups = re.findall(r"SOURCE\s+'([^']+)'|\|\s*'([^']+)'", props.get("query", ""))
    names = [a or b for a, b in groups]
    events = []
    with store.lock:
        for g in names:
            for s in store.log_groups.get(g, {}).get("streams", {}).values():
                events.extend((e["timestamp"], g, e["message"]) for e in s["events"][-50:])
    events.sort(reverse=True)
    lines = "\n".join("%s %s %s" % (time.strftime("%H:%M:%S", time.gmtime(t / 1000.0)), g, m[:200])
                      for t, g, m in events[:20])
    return "<pre>%s</pre>" % html.escape(lines or "(no events stored for %s)" % ", ".join(names)), len(events)


def _widget(store, w, now):
    props = w.get("properties", {})
    kind = w.get("type")
    if kind == "metric":
        inner, n = _metric_widget(store, props, now)
    elif kind == "alarm":
        inner, n = _alarm_widget(store, props, now)
    elif kind == "log":
        inner, n = _log_widget(store, props)
    elif kind == "text":
        md = props.get("markdown", "")
        inner, n = "<h2 style='margin:0'>%s</h2>" % html.escape(md.lstrip("# ")), 1
    else:
        inner, n = "<p>widget type %s is not rendered by the emulator</p>" % html.escape(str(kind)), 0
    style = "grid-column:%d / span %d;grid-row:%d / span %d" % (
        int(w.get("x", 0)) + 1, int(w.get("width", 6)), int(w.get("y", 0)) + 1, int(w.get("height", 6)))
    return ("<section class='widget %s' data-has-data='%d' style='%s'><h3>%s</h3>%s</section>"
            % (html.escape(str(kind)), 1 if n else 0, style, html.escape(str(props.get("title", ""))), inner))


def dashboard(store, name):
    with store.lock:
        body = store.dashboards.get(name)
    if body is None:
        return _page("no dashboard %s" % name, "<p>No dashboard named %s.</p>" % html.escape(name))
    now = store.now()
    widgets = json.loads(body).get("widgets", [])
    return _page(name, "<main class='grid'>%s</main>" % "".join(_widget(store, w, now) for w in widgets))


def index(store):
    now = store.now()
    cloudwatch.evaluate_all(store, now)
    with store.lock:
        names = sorted(store.dashboards)
        alarms = sorted(store.alarms.values(), key=lambda a: a["AlarmName"])
        nmetrics = len(store.metrics)
    dl = "".join("<li><a href='/dashboards/%s'>%s</a></li>" % (quote(n), html.escape(n)) for n in names)
    rows = "".join("<tr><td><span class='state' data-state='%s' style='background:%s'>%s</span></td><td>%s</td>"
                   "<td>%s</td></tr>" % (a["StateValue"], STATE_COLORS.get(a["StateValue"], "#000"),
                                         a["StateValue"], html.escape(a["AlarmName"]),
                                         html.escape(a.get("StateReason", ""))) for a in alarms)
    body = ("<main style='padding:12px'><h2>Dashboards</h2><ul>%s</ul><h2>Alarms</h2><table>%s</table>"
            "<p>%d datums stored.</p></main>") % (dl or "<li>none yet: run <code>cwagent dashboard apply</code></li>",
                                                  rows, nmetrics)
    return _page("cwemu", body)


def handle(req, store):
    """Returns a Response for GET / and GET /dashboards/NAME, or None for anything else."""
    if req.method != "GET" or req.raw_query or req.header("authorization"):
        return None
    if req.raw_path == "/":
        return index(store)
    if req.raw_path.startswith("/dashboards/"):
        return dashboard(store, unquote(req.raw_path[len("/dashboards/"):]))
    return None
