"""File pages: upload a Registry CSV file to import, download an export, download the report."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ilpkit.domain.errors import RegistryValidationError
from ilpkit.services import accounts, web_files
from ilpkit.services.access import PseudonymKeyMissing
from ilpkit.services.web_files import Download, NotAllowed, NothingToDownload
from ilpkit.web.context import Web, principal_of

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""Largest CSV file accepted for import (50 MB, about 100,000 rows)."""
_COPY_CHUNK = 1024 * 1024
_FORM_OVERHEAD_BYTES = 64 * 1024
"""Room for the form's other fields and multipart headers beside the file."""


class UploadTooLarge(Exception):
    """The uploaded file is larger than :data:`MAX_UPLOAD_BYTES`."""


def _attachment(download: Download) -> Response:
    name = download.filename
    return Response(
        download.content,
        media_type=download.media_type,
        headers={
            "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''"
            + quote(name)
        },
    )


async def _save_upload(upload: UploadFile, target: Path) -> None:
    size = 0
    with target.open("wb") as out:
        while chunk := await upload.read(_COPY_CHUNK):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise UploadTooLarge
            out.write(chunk)


def register(app: FastAPI, web: Web) -> None:
    """Add the import, export and report pages to ``app``."""

    def too_large_text() -> str:
        return (
            f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB, the most this page "
            "accepts; nothing was imported. Split it into smaller files, or import it with "
            "'ilp import' on the server."
        )

    @app.get("/import", include_in_schema=False)
    def import_page(request: Request) -> Response:
        with web.db.begin() as conn:
            user = web.page_user(request, conn)
        if user.role not in web_files.IMPORT_ROLES:
            return web.message(
                request, user, 403, "Not allowed", "Importing is for data managers and admins."
            )
        context: dict[str, object] = {
            "result": None,
            "problems": [],
            "file_name": "",
            "dry_run": False,
        }
        return web.render(request, "import.html", context, user=user)

    @app.post("/import", include_in_schema=False)
    async def import_upload(request: Request) -> Response:
        """The form is read here, not by FastAPI, so that a request announcing a body larger
        than the limit is refused before any of it is read."""
        user = await run_in_threadpool(_page_user, request)
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_UPLOAD_BYTES + _FORM_OVERHEAD_BYTES:
            return web.message(request, user, 413, "Nothing imported", too_large_text())
        try:
            form = await request.form(max_files=1, max_fields=4)
        except HTTPException as exc:  # a malformed or oversized multipart body
            return web.message(
                request, user, 400, "Nothing imported", f"{exc.detail}; nothing was imported."
            )
        csrf_token = form.get("csrf_token")
        if not isinstance(csrf_token, str) or not web.csrf_ok(user, csrf_token):
            return web.message(
                request,
                user,
                403,
                "Nothing imported",
                "The form did not come from this site, so nothing was imported.",
            )
        if user.role not in web_files.IMPORT_ROLES:
            return web.message(
                request, user, 403, "Not allowed", "Importing is for data managers and admins."
            )
        dry_run = bool(form.get("check_only"))
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return web.message(
                request, user, 400, "Nothing imported", "Choose a Registry CSV file to import."
            )
        name = web_files.safe_file_name(upload.filename)
        context: dict[str, object] = {"file_name": name, "dry_run": dry_run, "problems": []}
        with tempfile.TemporaryDirectory(prefix="ilp-upload-") as work:
            path = Path(work) / name
            try:
                await _save_upload(upload, path)
            except UploadTooLarge:
                return web.message(request, user, 413, "Nothing imported", too_large_text())
            try:
                report = await run_in_threadpool(
                    web_files.import_upload,
                    web.db.url,
                    principal_of(user),
                    path,
                    today=date.today(),
                    dry_run=dry_run,
                )
            except RegistryValidationError as exc:
                context["problems"] = exc.problems
                context["result"] = None
                return web.render(request, "import.html", context, 422, user)
        context["result"] = report
        context["problems"] = report.warnings
        return web.render(request, "import.html", context, user=user)

    def _page_user(request: Request) -> accounts.SessionUser:
        with web.db.begin() as conn:
            return web.page_user(request, conn)

    @app.get("/export", include_in_schema=False)
    def export_download(
        request: Request,
        format: Annotated[str, Query(max_length=16)] = "",
        deidentify: Annotated[str, Query(max_length=8)] = "",
    ) -> Response:
        with web.db.begin() as conn:
            user = web.page_user(request, conn)
        principal = principal_of(user)
        if user.role not in web_files.EXPORT_ROLES:
            return web.message(
                request,
                user,
                403,
                "Not allowed",
                "Exporting is for data managers, statisticians and admins.",
            )
        if not format:
            context = {"formats": web_files.DOWNLOAD_FORMATS}
            return web.render(request, "export.html", context, user=user)
        try:
            download = web_files.export_download(
                web.db.url, principal, format.lower(), deidentify=bool(deidentify)
            )
        except NotAllowed as exc:
            return web.message(request, user, 400, "Nothing exported", f"{exc}.")
        except PseudonymKeyMissing as exc:
            return web.message(request, user, 403, "Nothing exported", f"{exc}.")
        except NothingToDownload as exc:
            return web.message(request, user, 404, "Nothing exported", f"{exc}.")
        return _attachment(download)

    @app.get("/report", include_in_schema=False)
    def report_download(request: Request) -> Response:
        with web.db.begin() as conn:
            user = web.page_user(request, conn)
        try:
            download = web_files.report_download(web.db.url, principal_of(user))
        except NotAllowed as exc:
            return web.message(request, user, 403, "Not allowed", f"{exc}.")
        except PseudonymKeyMissing as exc:
            return web.message(request, user, 403, "No report", f"{exc}.")
        except NothingToDownload as exc:
            return web.message(request, user, 404, "No report", f"{exc}.")
        return _attachment(download)
