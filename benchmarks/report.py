"""The markdown of one benchmark run, for docs/benchmarks.md, and its checks against issue 15's Done-when."""

from typing import Any

from benchmarks.profile_owners import IDLE

MIB = 2**20


def checks(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Each Done-when target: what it asks, what this run measured, and whether it passed."""
    live, mem, ratios = r["live"], r["memory"], r["ratios"]
    two = r["scaleout"]["2"]
    p99 = r.get("latency", {}).get("1000", {}).get("p99_ms")
    latency_alerts_equal = all(lat["alerts"] == lat["alerts_expected"] for lat in r.get("latency", {}).values())
    rows: list[tuple[str, str, str, bool]] = [
        (
            "every alert count equal to replay's (live, two workers, latency, Quix re-referral)",
            "equal",
            "equal" if alerts_equal(r) else "DIFFERENT",
            alerts_equal(r),
        ),
        ("live / Quix Streams", ">= 0.4", f"{ratios['casewatch_over_quix']:.3f}", ratios["casewatch_over_quix"] >= 0.4),
        (
            "live / faust floor",
            ">= 0.8",
            f"{ratios['casewatch_over_faust_floor']:.3f}",
            ratios["casewatch_over_faust_floor"] >= 0.8,
        ),
        (
            "p99 event-to-stored at 1,000 events/s offered",
            "<= 250 ms",
            "not measured" if p99 is None else f"{p99:,.0f} ms",
            p99 is not None and p99 <= 250 and latency_alerts_equal,
        ),
        (
            "replay",
            ">= 100,000 events/s",
            f"{r['replay']['events_per_second']:,.0f} events/s",
            r["replay"]["events_per_second"] >= 100_000,
        ),
        (
            "state per child in memory (mean)",
            "<= 1 KB",
            f"{mem['state_memory_bytes_per_child_mean']:,.0f} bytes",
            mem["state_memory_bytes_per_child_mean"] <= 1024,
        ),
        (
            "worker RSS growth per 100,000 children",
            "<= 300 MiB",
            f"{mem['rss_per_100k_children_bytes'] / MIB:,.0f} MiB",
            mem["rss_per_100k_children_bytes"] <= 300 * MIB,
        ),
        (
            "two workers / one worker",
            ">= 1.5",
            f"{ratios['two_workers_over_one']:.2f} "
            f"({two['events_per_second']:,.0f} / {live['events_per_second']:,.0f} events/s)",
            ratios["two_workers_over_one"] >= 1.5,
        ),
    ]
    return [{"measure": m, "target": t, "measured": v, "passed": ok} for m, t, v, ok in rows]


def alerts_equal(r: dict[str, Any]) -> bool:
    runs = [r["live"], *r.get("scaleout", {}).values()]
    return (
        all(run["alerts_by_rule"] == run["alerts_expected_by_replay"] for run in runs)
        and all(lat["alerts"] == lat["alerts_expected"] for lat in r.get("latency", {}).values())
        and bool(r["ratios"]["quix_rereferral_alerts_match"])
    )


def _cpu(run: dict[str, Any]) -> str:
    """How busy the machine's cores were, and each process's CPU seconds (runs that measured them)."""
    if "machine_cpu_busy" not in run:
        return ""
    each = ", ".join(f"{name} {seconds:,.0f}" for name, seconds in run["cpu_seconds_by_process"].items())
    return f"; cores {run['machine_cpu_busy']:.0%} busy; CPU s: {each}"


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    live, aio, quix, floor, mem = r["live"], r["aiokafka"], r["quix"], r["faust_floor"], r["memory"]
    ratios = r["ratios"]
    lines = [
        f"Measured {r['when']} with `{r['command']}`",
        f"on {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}, Kafka {m['kafka']}; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + ".",
        "",
        "### Done when (issue 15)",
        "",
        "| measure | target | measured | |",
        "|---|---|---|---|",
        *(
            f"| {c['measure']} | {c['target']} | {c['measured']} | {'pass' if c['passed'] else 'FAIL'} |"
            for c in r["checks"]
        ),
        "",
        "### Figures",
        "",
        "| measure | figure |",
        "|---|---|",
        f"| live: one casewatch worker{' and its store' if live.get('processes', 1) > 1 else ''}, "
        f"{live['events']:,} events, start to last alert stored "
        f"| {live['events_per_second']:,.0f} events/s ({live['seconds']:.1f} s; every event consumed at "
        f"{live.get('seconds_to_all_consumed', live['seconds']):.1f} s{_cpu(live)}) |",
        f"| baseline: faust floor (`take_events`, one table write per key per batch) "
        f"| {floor['events_per_second']:,.0f} events/s ({floor['seconds']:.1f} s) |",
        f"| baseline: aiokafka consume-and-produce loop | {aio['events_per_second']:,.0f} events/s |",
        f"| baseline: Quix Streams re-referral rule | {quix['events_per_second']:,.0f} events/s |",
        f"| casewatch / faust floor | {ratios['casewatch_over_faust_floor']:.3f} |",
        f"| casewatch / aiokafka | {ratios['casewatch_over_aiokafka']:.3f} |",
        f"| casewatch / Quix Streams | {ratios['casewatch_over_quix']:.3f} |",
        f"| re-referral alerts: casewatch / Quix | {live['alerts_by_rule'].get('rereferral_after_agreement', 0)} / "
        f"{quix['alerts']} ({'match' if ratios['quix_rereferral_alerts_match'] else 'MISMATCH'}) |",
    ]
    for workers, run in sorted(r.get("scaleout", {}).items()):
        lines.append(
            f"| scale-out: {workers} workers, same events, start to last alert stored "
            f"| {run['events_per_second']:,.0f} events/s ({run['seconds']:.1f} s; every event consumed at "
            f"{run.get('seconds_to_all_consumed', run['seconds']):.1f} s{_cpu(run)}); "
            f"{run['events_per_second'] / live['events_per_second']:.2f}x one worker |"
        )
    if before := r.get("before"):
        lines.append(
            f"| before: one worker from `{before['source']}`, same events "
            f"| {before['events_per_second']:,.0f} events/s ({before['seconds']:.1f} s); now "
            f"{live['events_per_second'] / before['events_per_second']:.2f}x that; alerts "
            f"{'equal to' if before['alerts_by_rule'] == before['alerts_expected_by_replay'] else 'NOT'} replay's |"
        )
    for rate, lat in sorted(r.get("latency", {}).items(), key=lambda item: int(item[0])):
        lines.append(
            f"| latency at {rate}/s offered ({lat['achieved_rate']:,.0f}/s achieved, {lat['alerts']} alerts): "
            f"p50 / p95 / p99 | {lat['p50_ms']:.0f} / {lat['p95_ms']:.0f} / {lat['p99_ms']:.0f} ms |"
        )
    rep = r["replay"]
    lines += [
        f"| replay (library, JSON lines), {rep['events']:,} events | {rep['events_per_second']:,.0f} events/s |",
        f"| worker RSS after the live step ({mem['children']:,} children) "
        f"| {mem['worker_rss_after_bytes'] / MIB:,.0f} MiB ({mem['worker_rss_idle_bytes'] / MIB:,.0f} MiB at Ready) |",
        f"| worker RSS growth per 100,000 children | {mem['rss_per_100k_children_bytes'] / MIB:,.0f} MiB |",
        *(
            [f"| store process RSS after the live step | {mem['store_rss_after_bytes'] / MIB:,.0f} MiB |"]
            if "store_rss_after_bytes" in mem
            else []
        ),
        f"| state per child in memory (replay's objects, {mem['state_memory_children_measured']:,} children), "
        f"mean / max | {mem['state_memory_bytes_per_child_mean']:,.0f} / "
        f"{mem['state_memory_bytes_per_child_max']:,} bytes |",
        f"| state per child as JSON, mean / max | {mem['state_json_bytes_per_child_mean']:,.0f} / "
        f"{mem['state_json_bytes_per_child_max']:,} bytes |",
        f"| worker table store on disk per child (RocksDB) | {mem['state_store_bytes_per_child']:,.0f} bytes |",
        "",
        "Alerts by rule (live / two workers / replay): "
        + ", ".join(
            f"{rule} {live['alerts_by_rule'].get(rule, 0)} / "
            f"{r.get('scaleout', {}).get('2', {}).get('alerts_by_rule', {}).get(rule, 0)} / {count}"
            for rule, count in sorted(live["alerts_expected_by_replay"].items())
        ),
        "",
    ]
    lines += profile_table(r.get("profile"))
    return "\n".join(lines)


def profile_table(profile: dict[str, Any] | None) -> list[str]:
    if not profile or not profile.get("samples_by_owner"):
        return []
    samples: dict[str, int] = profile["samples_by_owner"]
    busy = sum(n for owner, n in samples.items() if owner != IDLE) or 1
    return [
        "### Profile of the whole live step, by owner",
        "",
        "py-spy on the one worker (all threads), from Ready to the last alert stored; each sample goes to "
        "the innermost frame in a known package. Shares are of the busy samples (all but the loop waiting).",
        "",
        "| owner | samples | share |",
        "|---|---|---|",
        *(f"| {owner} | {n:,} | {'' if owner == IDLE else f'{n / busy:.1%}'} |" for owner, n in samples.items()),
        "",
    ]
