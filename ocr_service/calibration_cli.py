"""``ocr-service calibrate``: the calibration tables for operators without a browser.

``ocr-service calibrate`` lists every check; ``--check NAME`` prints one check's histogram,
proposal and what-if counts; ``--apply`` writes the proposal (or ``--threshold``) to the
thresholds file, with the same history and audit entry as the dashboard. Running services
pick it up on SIGHUP or at their next start.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def calibrate_command(
    check: Annotated[
        str | None, typer.Option("--check", help="check name, e.g. id_card.min_sharpness")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", help="what-if threshold (and what --apply writes)"),
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="write the proposal (or --threshold) to the file")
    ] = False,
    operator: Annotated[
        str | None, typer.Option("--operator", help="name for the audit log (default: $USER)")
    ] = None,
) -> None:
    """Calibrate thresholds from reviewer feedback: tables, proposal, what-if, apply."""
    from ocr_service.calibration import CHECKS, Group, histogram, what_if
    from ocr_service.config import Settings
    from ocr_service.dashboard import calibration_data as data
    from ocr_service.storage.db import make_engine, make_session_factory, migrate, session_scope

    try:
        settings = Settings()
    except Exception as exc:  # a configuration error is the operator's to fix: say it plainly
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if check is not None and check not in CHECKS:
        typer.echo(f"unknown check {check!r}; one of: {', '.join(CHECKS)}", err=True)
        raise typer.Exit(2)
    if apply and check is None:
        typer.echo("--apply needs --check", err=True)
        raise typer.Exit(2)
    url = settings.resolved_database_url
    if settings.auto_migrate:
        migrate(url)
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            if check is None:
                rows = [["check", "current", "source", "confirmed", "false", "proposed"]]
                for c in CHECKS.values():
                    ev = data.gather(session, settings, c)
                    p = ev.proposal
                    rows.append(
                        [
                            c.name,
                            f"{c.direction.symbol} {ev.current:g}",
                            ev.source,
                            str(p.confirmed),
                            str(p.false_rejections),
                            f"{p.threshold:g}" if p.threshold is not None else f"- ({p.refused})",
                        ]
                    )
                typer.echo(_table(rows))
                typer.echo(f"thresholds file: {settings.thresholds_file}")
                return
            c = CHECKS[check]
            ev = data.gather(session, settings, c)
            p = ev.proposal
            typer.echo(f"{c.name}  ({c.label})")
            typer.echo(f"current: {c.direction.symbol} {ev.current:g}  (source: {ev.source})")
            counts = {g: sum(o.group is g for o in ev.observations) for g in Group}
            typer.echo(
                "records: "
                + ", ".join(f"{g.value} {counts[g]}" for g in Group)
                + "  (rejections count once per record, accepted once per side)"
            )
            bins = histogram(
                [o for o in ev.observations if o.group is not Group.UNREVIEWED],
                bins=settings.calibration.histogram_bins,
                marks=(ev.current, p.threshold, threshold),
            )
            rows = [["from", "to", "confirmed", "false", "accepted"]]
            for b in bins:
                rows.append(
                    [
                        f"{b.low:.4g}",
                        f"{b.high:.4g}",
                        str(b.counts[Group.CONFIRMED]),
                        str(b.counts[Group.FALSE]),
                        str(b.counts[Group.ACCEPTED]),
                    ]
                )
            if bins:
                typer.echo(_table(rows))
            if p.threshold is None:
                typer.echo(f"proposal: none ({p.refused})")
            else:
                typer.echo(
                    f"proposal: {c.direction.symbol} {p.threshold:g}  from {p.reviewed} reviewed "
                    f"rejections ({p.confirmed} confirmed, {p.false_rejections} false); keeps "
                    f"{p.kept_rejected} confirmed rejected (target recall {p.target_recall:.0%})"
                )
            chosen = threshold if threshold is not None else p.threshold
            if chosen is None:
                chosen = ev.current
            outcome = what_if(c, ev.observations, chosen)
            typer.echo(f"what if {c.direction.symbol} {chosen:g}:")
            for label, ids, total in (
                ("false rejections that would pass", outcome.false_passing, outcome.false_total),
                (
                    "confirmed rejections that would pass",
                    outcome.confirmed_passing,
                    outcome.confirmed_total,
                ),
                ("accepted that would fail", outcome.accepted_failing, outcome.accepted_total),
            ):
                typer.echo(f"  {label}: {len(ids)}/{total}  {' '.join(ids[:20])}")
            if not apply:
                return
            if threshold is None and p.threshold is None:
                typer.echo("nothing to apply: no proposal (give --threshold)", err=True)
                raise typer.Exit(1)
            try:
                change = data.apply_threshold(
                    session,
                    settings=settings,
                    check=c,
                    value=chosen,
                    operator=operator or f"cli:{getpass.getuser()}",
                    client="cli",
                    evidence=ev,
                )
            except data.CalibrationError as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(1) from exc
            typer.echo(
                f"applied: {c.name} {change.value_before:g} -> {change.value_after:g} "
                f"(change #{change.id}) in {settings.thresholds_file}; send SIGHUP to running "
                "services (or restart them) to use it"
            )
    finally:
        engine.dispose()
