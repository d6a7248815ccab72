"""Streaming multipart parsing under hard limits.

Starlette's form parser spools file parts over 1 MB to a temporary file; ID
images must never touch disk, and limits must bite while bytes arrive, not
after. So uploads are parsed here with python-multipart's low-level parser
over ``request.stream()``:

* ``Content-Length`` over the body cap is refused before reading anything;
* the byte count is enforced on what actually arrives (chunked bodies, lying
  lengths), as are per-part size, file count, field count and header limits;
* the whole body must arrive within ``timeout_s`` (slow-upload defence).

File parts go to memory by default; a ``FileSink`` factory can stream them to
disk instead (certificate batches, which may be stored).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from ocr_service.errors import (
    MalformedRequestError,
    PayloadTooLargeError,
    RequestTimeoutError,
    UnsupportedMediaError,
    ValidationFailedError,
)

MAX_HEADERS_PER_PART = 8
MAX_HEADER_BYTES = 4096


@dataclass(frozen=True)
class MultipartLimits:
    max_body_bytes: int
    max_file_bytes: int
    max_files: int
    max_fields: int
    max_field_bytes: int
    timeout_s: float
    file_fields: frozenset[str]
    text_fields: frozenset[str]
    file_caps: Mapping[str, int] = field(
        default_factory=dict
    )  # per field name, else max_file_bytes


class FileSink(Protocol):
    def write(self, data: bytes) -> None: ...
    def close(self) -> str | None: ...  # returns where the bytes went, if anywhere
    def discard(self) -> None: ...


class MemorySink:
    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes) -> None:
        self.buffer.extend(data)

    def close(self) -> None:
        return None

    def discard(self) -> None:
        self.buffer = bytearray()


@dataclass
class FilePart:
    field: str
    filename: str
    content_type: str | None
    size: int = 0
    data: bytes | None = None  # memory sink
    stored: str | None = None  # disk sink


@dataclass
class ParsedForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[FilePart] = field(default_factory=list)

    def file(self, name: str) -> FilePart | None:
        return next((f for f in self.files if f.field == name), None)


class _State:
    def __init__(
        self, limits: MultipartLimits, sink_factory: Callable[[FilePart], FileSink]
    ) -> None:
        self.limits = limits
        self.sink_factory = sink_factory
        self.form = ParsedForm()
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.headers: dict[bytes, bytes] = {}
        self.parts = 0
        self.field_count = 0
        self.current_file: FilePart | None = None
        self.current_sink: FileSink | None = None
        self.current_text: bytearray | None = None
        self.current_name = ""
        self.ignored = False
        self.ended = False
        self.open_sinks: list[FileSink] = []

    # python-multipart callbacks ----------------------------------------------
    def on_part_begin(self) -> None:
        self.headers = {}
        self.parts += 1
        if self.parts > self.limits.max_files + self.limits.max_fields:
            raise PayloadTooLargeError("too many multipart parts")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field.extend(data[start:end])

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value.extend(data[start:end])

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_field).strip().lower()] = bytes(self.header_value).strip()
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        disposition = self.headers.get(b"content-disposition")
        if disposition is None:
            raise MalformedRequestError("multipart part without Content-Disposition")
        _kind, params = parse_options_header(disposition)
        raw_name = params.get(b"name")
        if raw_name is None:
            raise MalformedRequestError("multipart part without a field name")
        name = raw_name.decode("utf-8", "replace")
        raw_filename = params.get(b"filename")
        self.current_name = name
        self.ignored = False
        if raw_filename is not None:
            if name not in self.limits.file_fields:
                raise ValidationFailedError(f"unexpected file field {name!r}")
            if len(self.form.files) >= self.limits.max_files:
                raise PayloadTooLargeError(f"at most {self.limits.max_files} files per request")
            content_type = self.headers.get(b"content-type")
            part = FilePart(
                field=name,
                filename=raw_filename.decode("utf-8", "replace")[:255],
                content_type=content_type.decode("latin-1") if content_type else None,
            )
            self.current_file = part
            self.current_sink = self.sink_factory(part)
            self.open_sinks.append(self.current_sink)
        else:
            self.field_count += 1
            if self.field_count > self.limits.max_fields:
                raise PayloadTooLargeError(
                    f"at most {self.limits.max_fields} form fields per request"
                )
            if name not in self.limits.text_fields:
                self.ignored = True  # unknown text fields are counted and skipped
            self.current_text = bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        if self.current_file is not None and self.current_sink is not None:
            self.current_file.size += size
            cap = self.limits.file_caps.get(self.current_file.field, self.limits.max_file_bytes)
            if self.current_file.size > cap:
                raise PayloadTooLargeError(f"file {self.current_file.field!r} is over {cap} bytes")
            self.current_sink.write(data[start:end])
        elif self.current_text is not None:
            if len(self.current_text) + size > self.limits.max_field_bytes:
                raise PayloadTooLargeError(f"field {self.current_name!r} is too long")
            if not self.ignored:
                self.current_text.extend(data[start:end])

    def on_part_end(self) -> None:
        if self.current_file is not None and self.current_sink is not None:
            stored = self.current_sink.close()
            if isinstance(self.current_sink, MemorySink):
                self.current_file.data = bytes(self.current_sink.buffer)
            self.current_file.stored = stored
            self.form.files.append(self.current_file)
        elif self.current_text is not None and not self.ignored:
            try:
                value = self.current_text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValidationFailedError(f"{self.current_name}: not valid UTF-8") from exc
            if self.current_name in self.form.fields:
                raise ValidationFailedError(f"{self.current_name}: given more than once")
            self.form.fields[self.current_name] = value
        self.current_file = None
        self.current_sink = None
        self.current_text = None

    def on_end(self) -> None:
        self.ended = True

    def discard_all(self) -> None:
        for sink in self.open_sinks:
            sink.discard()


async def read_multipart(
    request: Request,
    limits: MultipartLimits,
    sink_factory: Callable[[FilePart], FileSink] | None = None,
) -> ParsedForm:
    """Parse a ``multipart/form-data`` body within ``limits``; see the module docstring."""
    content_type = request.headers.get("content-type", "")
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise UnsupportedMediaError("expected multipart/form-data")
    boundary = params.get(b"boundary")
    if not boundary or len(boundary) > 70:
        raise MalformedRequestError("missing or invalid multipart boundary")
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            declared_bytes = int(declared)
        except ValueError as exc:
            raise MalformedRequestError("invalid Content-Length") from exc
        if declared_bytes > limits.max_body_bytes:
            raise PayloadTooLargeError(f"request body over {limits.max_body_bytes} bytes")

    state = _State(limits, sink_factory or (lambda _part: MemorySink()))
    try:
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": state.on_part_begin,
                "on_part_data": state.on_part_data,
                "on_part_end": state.on_part_end,
                "on_header_field": state.on_header_field,
                "on_header_value": state.on_header_value,
                "on_header_end": state.on_header_end,
                "on_headers_finished": state.on_headers_finished,
                "on_end": state.on_end,
            },
            max_header_count=MAX_HEADERS_PER_PART,
            max_header_size=MAX_HEADER_BYTES,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limits.timeout_s
        received = 0
        stream = request.stream().__aiter__()
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise RequestTimeoutError()
            try:
                chunk = await asyncio.wait_for(stream.__anext__(), remaining)
            except StopAsyncIteration:
                break
            except TimeoutError as exc:
                raise RequestTimeoutError() from exc
            if not chunk:
                continue
            received += len(chunk)
            if received > limits.max_body_bytes:
                raise PayloadTooLargeError(f"request body over {limits.max_body_bytes} bytes")
            parser.write(chunk)
        parser.finalize()
        if not state.ended:
            raise MalformedRequestError("multipart body is incomplete")
    except ClientDisconnect as exc:
        state.discard_all()
        raise MalformedRequestError("client disconnected") from exc
    except FormParserError as exc:
        state.discard_all()
        raise MalformedRequestError(f"malformed multipart body: {exc}") from exc
    except BaseException:
        state.discard_all()
        raise
    return state.form
