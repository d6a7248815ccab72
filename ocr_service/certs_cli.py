"""``ocr-service validate-certs PATH...``: check certificate scans on the unit's own machine.

Files, folders (recursively) and zip archives; a progress bar, a summary table,
``--report out.csv`` (UTF-8 with BOM, opens in Excel) and ``--fix DIR`` (writes a
corrected copy of each file rejected only for orientation, skew or size). Files are
checked in a process pool using every core (models loaded once per process). Returns
exit code 1 if anything was rejected, else 0.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ocr_service.services.certificate_checks import CheckPool, resolve_processes
from pipelines.certificate import (
    CertificateConfig,
    CertificateReport,
    fix_certificate,
    mark_duplicates,
    validate_certificate,
    write_report_csv,
)
from pipelines.certificate.archive import ArchiveMember, InvalidArchiveError, iter_archive
from pipelines.certificate.result import CertificateReport as _Report
from pipelines.ocr import OcrConfig, OcrEngine, create_engine

_SKIP = {".ds_store", "thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class _Item:
    label: str  # shown and written to the report
    filename: str  # what the rules check
    load: object  # () -> bytes | None, or an ArchiveMember refusal


def _items(paths: list[Path], console: Console) -> Iterator[_Item]:
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if child.name.lower() in _SKIP or child.name.startswith("."):
                    continue
                yield from _items([child], console)
        elif path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
            try:
                for member in iter_archive(path.read_bytes()):
                    yield _Item(f"{path.name}/{member.name}", member.name, member)
            except InvalidArchiveError as exc:
                console.print(f"[red]无法读取压缩包 {path}: {exc}[/red]")
        elif path.is_file():
            yield _Item(str(path), path.name, path)
        else:
            console.print(f"[red]找不到 {path}[/red]")


def _data(item: _Item) -> bytes:
    if isinstance(item.load, ArchiveMember):
        return item.load.data or b""
    return Path(str(item.load)).read_bytes()


def _refused(member: ArchiveMember) -> CertificateReport:
    assert member.refusal is not None
    return _Report(
        filename=member.name,
        status="rejected",
        reasons=(member.refusal,),
        warnings=(),
        checks={"archive": dict(member.refusal.detail)},
        fingerprint=None,
        fixable=False,
        timings_ms={},
        masked_filename=member.name,
    )


def validate_certs_command(
    paths: list[Path],
    *,
    report: Path | None,
    fix_dir: Path | None,
    engine: OcrEngine | None = None,
    config: CertificateConfig | None = None,
    console: Console | None = None,
    ocr_config: OcrConfig | None = None,
    processes: int | None = None,
) -> int:
    """Validate every file under ``paths``; 1 if anything was rejected, else 0.

    ``processes``: files are checked in a process pool of this size (0: one per core),
    each process loading the models once; None checks inline with ``engine`` when one is
    given, else uses every core."""
    config = config or CertificateConfig()
    console = console or Console()
    items = list(_items(paths, console))
    count = resolve_processes(processes if processes is not None else (1 if engine else 0))
    pool = CheckPool(ocr_config or OcrConfig(), count) if count > 1 else None
    if pool is None and engine is None:
        engine = create_engine(ocr_config or OcrConfig())
    reports: list[CertificateReport] = []
    labels: list[str] = []
    keep: dict[int, bytes] = {}

    def jobs() -> Iterator[tuple[bytes, str]]:
        for item in items:
            if not (isinstance(item.load, ArchiveMember) and item.load.refusal is not None):
                yield _data(item), item.filename

    def checked() -> Iterator[CertificateReport]:
        if pool is not None:
            yield from pool.validate_all(jobs(), config)
            return
        assert engine is not None
        for data, filename in jobs():
            yield validate_certificate(data, filename, engine=engine, config=config)

    try:
        with Progress(
            TextColumn("[bold]核验证书"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        ) as progress:
            task = progress.add_task("", total=len(items))
            results = checked()
            for item in items:
                progress.update(task, description=item.label[-40:])
                if isinstance(item.load, ArchiveMember) and item.load.refusal is not None:
                    result = _refused(item.load)
                else:
                    result = next(results)
                    if result.fixable:
                        keep[len(reports)] = _data(item)
                reports.append(result)
                labels.append(item.label)
                progress.advance(task)
    finally:
        if pool is not None:
            pool.close()
    reports = mark_duplicates(reports, config)

    fixed = 0
    if fix_dir is not None:
        fix_dir.mkdir(parents=True, exist_ok=True)
        for i, data in keep.items():
            if not reports[i].fixable:  # a duplicate since
                continue
            out = fix_certificate(data, reports[i], config=config)
            if out is None:
                continue
            target = fix_dir / Path(out.filename).name
            n = 2
            while target.exists():
                target = fix_dir / f"{Path(out.filename).stem}({n}){Path(out.filename).suffix}"
                n += 1
            target.write_bytes(out.data)
            fixed += 1

    if report is not None:
        with report.open("w", encoding="utf-8", newline="") as stream:
            write_report_csv(reports, stream, mask=False)

    _summary(console, reports, labels, fixed, report, fix_dir)
    return 1 if any(not r.accepted for r in reports) else 0


def _summary(
    console: Console,
    reports: list[CertificateReport],
    labels: list[str],
    fixed: int,
    report: Path | None,
    fix_dir: Path | None,
) -> None:
    rejected = [(label, r) for label, r in zip(labels, reports, strict=True) if not r.accepted]
    table = Table(title="不通过的文件" if rejected else None, show_lines=False)
    table.add_column("文件", overflow="fold")
    table.add_column("原因")
    table.add_column("可自动纠正")
    for label, r in rejected[:200]:
        short = label if "/" not in label else "/".join(label.split("/")[-2:])
        table.add_row(short, "、".join(r.reason_codes), "是" if r.fixable else "")
    if rejected:
        console.print(table)
    counts = Counter(code for r in reports for code in r.reason_codes)
    summary = Table(title="汇总")
    summary.add_column("项目")
    summary.add_column("数量", justify="right")
    summary.add_row("文件总数", str(len(reports)))
    summary.add_row("通过", str(sum(r.accepted for r in reports)))
    summary.add_row("不通过", str(len(rejected)))
    for code, n in counts.most_common():
        summary.add_row(f"  {code}", str(n))
    summary.add_row("警告", str(sum(bool(r.warnings) for r in reports)))
    if fix_dir is not None:
        summary.add_row(f"已纠正（{fix_dir}）", str(fixed))
    console.print(summary)
    if report is not None:
        console.print(f"报告已写入 {report}")
