"""The markdown table of one benchmark run, for docs/benchmarks.md."""

from typing import Any


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    live, aio, quix, mem = r["live"], r["aiokafka"], r["quix"], r["memory"]
    ratios = r["ratios"]
    lines = [
        f"Measured {r['when']} with `{r['command']}`",
        f"on {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}, Kafka {m['kafka']}; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + ".",
        "",
        "| measure | figure | goal |",
        "|---|---|---|",
        f"| live: casewatch worker, {live['events']:,} events, start to last alert stored "
        f"| {live['events_per_second']:,.0f} events/s ({live['seconds']:.1f} s) | |",
        f"| baseline: aiokafka consume-and-produce loop | {aio['events_per_second']:,.0f} events/s | |",
        f"| baseline: Quix Streams re-referral rule | {quix['events_per_second']:,.0f} events/s | |",
        f"| casewatch / aiokafka | {ratios['casewatch_over_aiokafka']:.2f} | >= 0.5 |",
        f"| casewatch / Quix Streams | {ratios['casewatch_over_quix']:.2f} | >= 1 |",
        f"| re-referral alerts: casewatch / Quix | {live['alerts_by_rule'].get('rereferral_after_agreement', 0)} / "
        f"{quix['alerts']} ({'match' if ratios['quix_rereferral_alerts_match'] else 'MISMATCH'}) | equal |",
    ]
    for rate, lat in sorted(r.get("latency", {}).items(), key=lambda item: int(item[0])):
        lines.append(
            f"| latency at {rate}/s offered ({lat['achieved_rate']:,.0f}/s achieved, {lat['alerts']} alerts): "
            f"p50 / p95 / p99 | {lat['p50_ms']:.0f} / {lat['p95_ms']:.0f} / {lat['p99_ms']:.0f} ms "
            "| p99 <= 250 ms at 1000/s |"
        )
    rep = r["replay"]
    lines += [
        f"| replay (library, JSON lines), {rep['events']:,} events | {rep['events_per_second']:,.0f} events/s "
        "| >= 200,000 |",
        f"| worker memory per 100,000 children ({mem['children']:,} tracked) "
        f"| {mem['rss_per_100k_children_bytes'] / 2**20:,.0f} MiB RSS | |",
        f"| state per child (JSON), mean / max | {mem['state_bytes_per_child_mean']:,.0f} / "
        f"{mem['state_bytes_per_child_max']:,} bytes | <= 2 KB |",
        "",
        "Alerts by rule (live / replay): "
        + ", ".join(
            f"{rule} {live['alerts_by_rule'].get(rule, 0)} / {count}"
            for rule, count in sorted(live["alerts_expected_by_replay"].items())
        ),
        "",
    ]
    return "\n".join(lines)
