"""The QA report as one self-contained HTML page: inline CSS and SVG, no script, nothing fetched.

It renders `agents.report_figures.report_figures`'s document and nothing else, so the page
and `--format json` always hold the same figures. Each chart sits with its data table and
a one-line reading; the print style fits A4.
"""

from collections.abc import Sequence
from html import escape
from typing import Any

from casewatch.report import svg

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; margin: 1.5rem auto; max-width: 60rem;
       color: #111; line-height: 1.4; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; border-bottom: 2px solid #0072B2; margin-top: 2rem; }
h3 { font-size: 1.05rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.85rem; }
th, td { border: 1px solid #bbb; padding: 0.2rem 0.45rem; text-align: right; }
th:first-child, td:first-child { text-align: left; } thead th { background: #eef3f8; }
figure { margin: 0.5rem 0; } figcaption { font-size: 0.9rem; }
svg.chart { width: 100%; max-width: 40rem; height: auto; }
.reading { font-weight: 600; } .note { color: #444; font-size: 0.85rem; }
.banner { border-left: 6px solid #D55E00; background: #fff4ec; padding: 0.4rem 0.8rem; }
details summary { cursor: pointer; }
@page { size: A4; margin: 15mm; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; } details { display: block; }
  details > * { display: block; } figure, table, .banner { break-inside: avoid; } h2 { break-after: avoid; }
  svg.chart { max-width: 170mm; }
}
"""


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], caption: str) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )  # fmt: skip
    return f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(chart: str, reading: str) -> str:
    return f'<figure>{chart}<figcaption class="reading">{escape(reading)}</figcaption></figure>'


def _period_label(period: dict[str, Any]) -> str:
    notes = [f"{period['first']} to {period['last']}"]
    if not period["complete"]:
        notes.append("to date")
    if not period["lookback_complete"]:
        notes.append("no data for the 12 months before: re-referrals undercounted")
    name = f"reporting year {period['period']}" if period["kind"] == "reporting_year" else period["period"]
    return f"{name} ({'; '.join(notes)})"


def _rereferrals(doc: dict[str, Any]) -> str:
    section = doc["rereferrals"]
    comparators = doc["comparators"]
    parts = ['<section id="rereferrals"><h2>1. Re-referrals (DfE definition)</h2>',
             '<p class="note">A referral within 12 calendar months of an earlier referral of the same child; the same '
             "child and day once. NFA referrals count and are shown apart.</p>"]  # fmt: skip
    for period in section["periods"]:
        against = "; ".join(f"{c['name']} {_pct(c['rate'])}" + (f" ({c['period']})" if c["period"] else "")
                            for c in comparators)  # fmt: skip
        parts.append(f"<h3>{escape(_period_label(period))}</h3>")
        parts.append(f'<p class="reading">{period["re_referrals"]:,} of {period["referrals"]:,} referrals were '
                     f"re-referrals: {_pct(period['re_referral_rate'])}, against {escape(against)}.</p>")  # fmt: skip
        nfa = period["by_nfa"]
        split = [f"{nfa[k]['re_referrals']}/{nfa[k]['referrals']}" for k in ("nfa", "not_nfa", "not_given")]
        rows = [["LA", period["referrals"], period["re_referrals"], _pct(period["re_referral_rate"]), *split]]
        rows += [[c["name"] + " (comparator)", "", "", _pct(c["rate"]), "", "", ""] for c in comparators]
        parts.append(_table(["", "referrals", "re-referrals", "rate", "NFA", "not NFA", "NFA not given"], rows,
                            "Re-referrals in the LA against the comparators"))  # fmt: skip
        team_rows = [
            [t["team"], t["front_door_referrals"], t["front_door_re_referrals"],
             _pct(t["front_door_rate"] if t["front_door_referrals"] else None),
             t["attributed"]["re_referrals"], t["closures"], t["closures_re_referred"],
             _pct(t["closure_re_referral_rate"]), t["funnel"] or "–"]
            for t in period["teams"]
        ]  # fmt: skip
        parts.append(_table(["team", "referrals taken (front door)", "of them re-referrals", "front-door rate",
                             "re-referrals after the team's closure", "episodes closed", "closed then re-referred",
                             "share of closures re-referred", "funnel"], team_rows,
                            "Per team: the front door that took each referral, and the team that closed the previous "
                            "episode"))  # fmt: skip
    parts.append("<details><summary>Per team and month</summary>"
                 + _table(["team", "month", "referrals taken", "of them re-referrals", "re-referrals after the team's "
                           "closure", "episodes closed", "closed then re-referred"],
                          [[c["team"], c["month"], c["front_door_referrals"], c["front_door_re_referrals"],
                            c["attributed_re_referrals"], c["closures"], c["closures_re_referred"]]
                           for c in section["team_months"]], "Re-referrals per team and month")
                 + "</details>")  # fmt: skip
    parts.append(_team_rule(section["team_rule"], doc["alerts"]["source"]))
    year = section["periods"][0]
    funnel = section["funnel"]
    points = [(t["team"], t["closures"], t["closure_re_referral_rate"]) for t in year["teams"] if t["closures"]]
    outside = [t["team"] for t in year["teams"] if t["funnel"] and t["funnel"] != "within 95%"]
    reading = (f"Teams outside the 95% limits: {', '.join(outside)}." if outside
               else "Every closing team is within the 95% limits: no team stands out from the LA's rate.")  # fmt: skip
    desc = "; ".join(f"{n}: {_pct(r)} of {c} closures" for n, c, r in points) or "no closures in the year"
    parts.append("<h3>Funnel plot: closing teams, reporting year</h3>")
    parts.append(_figure(svg.funnel("funnel", f"Share of closures re-referred by team, {year['period']}",
                                    f"Funnel plot around the LA's {_pct(funnel['centre'])}. {desc}.",
                                    funnel["limits"], funnel["centre"], points), reading))  # fmt: skip
    limits = funnel["limits"]
    parts.append('<details><summary>Funnel limits (data)</summary>'
                 + _table(["episodes closed", "95% lower", "95% upper", "99.8% lower", "99.8% upper"],
                          [[a["n"], _pct(a["lower"]), _pct(a["upper"]), _pct(b["lower"]), _pct(b["upper"])]
                           for a, b in zip(limits["95"], limits["99.8"], strict=True)], "Funnel limits by team size")
                 + "</details>")  # fmt: skip
    chart = section["control_chart"]
    months = chart["months"]
    signals = [m["month"] for m in months if m["outside_limits"]]
    parts.append("<h3>Control chart (p-chart): the LA's monthly re-referral rate</h3>")
    desc = "; ".join(f"{m['month']}: {m['re_referrals']} of {m['referrals']}" for m in months)
    parts.append(_figure(svg.control_chart("pchart", "Monthly re-referral rate with 3-sigma limits",
                                           f"Centre {_pct(chart['centre'])}. {desc}.", months, chart["centre"],
                                           [(c["name"], c["rate"]) for c in comparators]),
                         f"Months outside the control limits: {', '.join(signals)}." if signals
                         else "No month is outside the control limits: no change to act on."))  # fmt: skip
    parts.append(_table(["month", "referrals", "re-referrals", "rate", "lower limit", "upper limit", "12 months before "
                         "in data"], [[m["month"], m["referrals"], m["re_referrals"], _pct(m["re_referral_rate"]),
                                       _pct(m["lower"]), _pct(m["upper"]), "yes" if m["lookback_complete"] else "no"]
                                      for m in months], "Monthly re-referrals (the control chart's data)"))  # fmt: skip
    return "".join(parts) + "</section>"


def _team_rule(rows: list[dict[str, Any]], source: str) -> str:
    """The team rule's monthly judgements (rolling 12 months), as the worker made them or a replay does."""
    if not rows:
        return ""
    changes = sorted({f"{r['team']} ({r['month']})" for r in rows if r["change"]})
    where = "the deployment's database" if source == "database" else "the replay"
    reading = (f"A change (above the upper control limit two months running): {', '.join(changes)}." if changes
               else "No team's rolling rate was above its upper control limit two months running.")  # fmt: skip
    table = _table(["team", "month", "12 months from", "referrals", "re-referrals", "rate", "upper limit", "change",
                    "front door", "front-door re-referrals", "agreements", "followed by a referral"],
                   [[r["team"], r["month"], r["period_start"], r["referrals"], r["rereferrals"],
                     f"{r['rereferral_rate_percent']}%", f"{r['upper_control_limit_percent']}%",
                     "yes" if r["change"] else "no", r["front_door_referrals"], r["front_door_rereferrals"],
                     r["agreements"], r["agreements_followed"]] for r in rows],
                   "The team rule's monthly figures: the 12 months to each month's end")  # fmt: skip
    note = (
        "The rule counts a re-referral for the team that closed the previous episode and every other referral "
        "for the front door, so a team that only closes cases has a rate of 100% here by construction: for a "
        "closing team, read its share of closures re-referred above."
    )
    return (
        f'<h3>The team rule\'s monthly judgements (from {where})</h3><p class="reading">{escape(reading)}</p>'
        f'<p class="note">{escape(note)}</p>'
        f"<details><summary>Per team and month (rolling 12 months)</summary>{table}</details>"
    )


def _summary_row(name: str, s: dict[str, Any]) -> list[object]:
    def part(key: str) -> str:
        return f"{s[key]}/{s[key + '_eligible']} ({_pct(s[key + '_share'])})"

    return [name, s["made"], _pct(s["at_closure_share"]), f"{s['reviewed_on_time']}/{s['reviews_due']}",
            s["breached"], part("referral_3m"), part("referral_6m"), part("referral_12m"), part("section47_12m"),
            part("cp_plan_12m")]  # fmt: skip


SUMMARY_HEADERS = ["", "made", "at closure", "reviewed on time", "breached", "referral ≤3 months",
                   "referral ≤6 months", "referral ≤12 months", "S47 ≤12 months", "CP plan ≤12 months"]  # fmt: skip


def _agreements(doc: dict[str, Any]) -> str:
    section = doc["agreements"]
    year = section["reporting_year"]
    parts = ['<section id="agreements"><h2>2. Written agreements and what became of them</h2>',
             '<p class="note">A share "within k months" counts only agreements made at least k months before the '
             "as-of day (x of the y old enough).</p>"]  # fmt: skip
    if not section["window"]["made"]:
        parts.append('<p class="banner">The sources carry no written agreements (they are not statutory data: they '
                     "come from the case system's own records, e.g. the agreements CSV).</p></section>")  # fmt: skip
        return "".join(parts)
    parts.append(f'<p class="reading">Reporting year {year["period"]}: {year["made"]} agreements made, '
                 f"{_pct(year['at_closure_share'])} at a case closure; {year['referral_6m']} of the "
                 f"{year['referral_6m_eligible']} old enough were followed by a referral within 6 months."
                 "</p>")  # fmt: skip
    rows = [_summary_row(f"reporting year {year['period']}", year), _summary_row("report window", section["window"])]
    rows += [_summary_row(t["team"], t) for t in section["teams"]]
    parts.append(_table(SUMMARY_HEADERS, rows, "Agreements by period and by team"))
    for key, label in (("by_type", "agreement type"), ("by_context", "where it was made")):
        if section[key]:
            parts.append(_table([label, *SUMMARY_HEADERS[1:]], [_summary_row(g[key[3:] if key == "by_context" else
                                "agreement_type"], g) for g in section[key]], f"Agreements by {label}"))  # fmt: skip
    cohort = section["cohort"]
    series = [("at closure", [(p["months"], p["at_closure_share"]) for p in cohort]),
              ("other", [(p["months"], p["other_share"]) for p in cohort])]  # fmt: skip
    desc = "; ".join(f"{p['months']} months: at closure {_pct(p['at_closure_share'])} of {p['at_closure_eligible']}, "
                     f"other {_pct(p['other_share'])} of {p['other_eligible']}" for p in cohort)  # fmt: skip
    six = cohort[5]
    parts.append("<h3>Cohort: months since the agreement against the share referred again</h3>")
    parts.append(_figure(svg.lines("cohort", "Share of agreements followed by a referral, by months since",
                                   desc, "months since the agreement", "share referred again", series),
                         f"Within 6 months: {_pct(six['at_closure_share'])} of agreements left at closure, "
                         f"{_pct(six['other_share'])} of the others."))  # fmt: skip
    parts.append(_table(["months since", "at closure: share", "at closure: old enough", "other: share",
                         "other: old enough"], [[p["months"], _pct(p["at_closure_share"]), p["at_closure_eligible"],
                                                 _pct(p["other_share"]), p["other_eligible"]] for p in cohort],
                        "The cohort chart's data"))  # fmt: skip
    parts.append("<details><summary>Per month and team</summary>"
                 + _table(["month", "team", *SUMMARY_HEADERS[1:]],
                          [[m["month"], *_summary_row(m["team"], m)] for m in section["months"]],
                          "Agreements per month and team") + "</details>")  # fmt: skip
    return "".join(parts) + "</section>"


def _practice(doc: dict[str, Any]) -> str:
    parts = ['<section id="practice"><h2>3. Practice measures</h2>']
    for measure in doc["practice"]:
        parts.append(f"<h3>{escape(measure['title'])}</h3>")
        if measure["banner"]:
            parts.append(f'<p class="banner" role="note">{escape(measure["banner"])}</p>')
            continue
        parts.append(f'<p class="reading">{measure["met"]:,} of {measure["judged"]:,}: {_pct(measure["share"])}.</p>')
        parts.append(_table(["team", "judged", "met", "share"],
                            [[t["team"], t["judged"], t["met"], _pct(t["share"])] for t in measure["teams"]],
                            measure["title"]))  # fmt: skip
    return "".join(parts) + "</section>"


def _alerts(doc: dict[str, Any]) -> str:
    load = doc["alerts"]
    source = "the deployment's database" if load["source"] == "database" else "a replay of the rules over the sources"
    parts = ['<section id="alerts"><h2>4. Alert load and outcomes</h2>', f'<p class="note">From {source}.</p>']
    months = load["months"]
    classes = ("immediate", "worklist", "report")
    total = sum(m[c] for m in months for c in classes)
    desc = "; ".join(f"{m['month']}: " + ", ".join(f"{c} {m[c]}" for c in classes) for m in months)
    parts.append(_figure(svg.stacked_bars("alertload", "Alerts per month by delivery class", desc,
                                          [m["month"] for m in months],
                                          [(c, [m[c] for m in months]) for c in classes]),
                         f"{total:,} alerts in the report window."))  # fmt: skip
    parts.append(_table(["month", *classes], [[m["month"], *(m[c] for c in classes)] for m in months],
                        "Alerts per month by delivery class (the chart's data)"))  # fmt: skip
    per: dict[tuple[str, str], dict[str, int]] = {}
    for row in load["rows"]:
        cell = per.setdefault((row["rule"], row["team"]), dict.fromkeys(classes, 0))
        cell[row["delivery"]] += row["alerts"]
    outcomes = {(o["rule"], o["team"]): o for o in load["outcomes"]}
    status = ("open", "acknowledged", "resolved")
    headers = ["rule", "team", *classes] + ([*status] if load["source"] == "database" else [])
    rows = [[rule, team, *(cell[c] for c in classes),
             *((outcomes[(rule, team)][s] for s in status) if load["source"] == "database" else ())]
            for (rule, team), cell in sorted(per.items())]  # fmt: skip
    parts.append(_table(headers, rows, "Alerts per rule and team by delivery class"))
    parts.append('<p class="note">Per rule, team, month and class: the JSON document (--format json).</p>')
    return "".join(parts) + "</section>"


def render(doc: dict[str, Any]) -> str:
    """The whole page."""
    head = (f"<p>As of {doc['as_of']}; data from {doc['data_from']}; {doc['events']:,} events, "
            f"{doc['children']:,} children. Child IDs, dates, codes and teams only.</p>")  # fmt: skip
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>casewatch QA report, {escape(doc['as_of'])}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>casewatch QA report</h1>{head}</header><main>"
        + _rereferrals(doc) + _agreements(doc) + _practice(doc) + _alerts(doc)
        + '<section id="audit"><h2>5. Audit samples</h2><p>A seeded, stratified sample of cases for case-file audit: '
        "<code>casewatch report FILE --audit-sample N --seed S</code> writes it as CSV (child ID, stratum, team, "
        "dates, reason).</p></section></main></body></html>\n"
    )  # fmt: skip
