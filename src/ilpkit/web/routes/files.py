"""File pages: upload a Registry CSV file to import, download an export, download the report."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from ilpkit.domain.errors import RegistryValidationError
from ilpkit.services import web_files
from ilpkit.services.access import PseudonymKeyMissing
from ilpkit.services.web_files import Download, NotAllowed, NothingToDownload
from ilpkit.web.context import Web, principal_of

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""Largest CSV file accepted for import (50 MB, about 100,000 rows)."""
_COPY_CHUNK = 1024 * 1024


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
    async def import_upload(
        request: Request,
        file: Annotated[UploadFile | None, File()] = None,
        csrf_token: Annotated[str, Form(max_length=128)] = "",
        check_only: Annotated[str, Form(max_length=8)] = "",
    ) -> Response:
        with web.db.begin() as conn:
            user = web.page_user(request, conn)
        if not web.csrf_ok(user, csrf_token):
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
        dry_run = bool(check_only)
        if file is None or not file.filename:
            return web.message(
                request, user, 400, "Nothing imported", "Choose a Registry CSV file to import."
            )
        name = web_files.safe_file_name(file.filename)
        context: dict[str, object] = {"file_name": name, "dry_run": dry_run, "problems": []}
        with tempfile.TemporaryDirectory(prefix="ilp-upload-") as work:
            path = Path(work) / name
            try:
                await _save_upload(file, path)
            except UploadTooLarge:
                return web.message(request, user, 413, "Nothing imported", too_large_text())
            try:
                report = web_files.import_upload(
                    web.db.url, principal_of(user), path, today=date.today(), dry_run=dry_run
                )
            except RegistryValidationError as exc:
                context["problems"] = exc.problems
                context["result"] = None
                return web.render(request, "import.html", context, 422, user)
        context["result"] = report
        context["problems"] = report.warnings
        return web.render(request, "import.html", context, user=user)

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
