"""Every failure as a JSON error in OpenAI's shape: {"error": {"message", "type", "param", "code"}}.

Our own errors keep their exit-code name as `code` ("no_index", "model", ...), so `localgpt ask`
through the server can exit with the same code, and print the same line, as in process.
Nothing ever answers with a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from localgpt.errors import (
    BusyError,
    ConfigError,
    ExitCode,
    LocalGPTError,
    ModelError,
    NetworkError,
    NoIndexError,
)

log = logging.getLogger("localgpt.server")

TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
         404: "not_found_error", 413: "invalid_request_error", 429: "rate_limit_error",
         503: "server_overloaded"}  # fmt: skip


class APIError(Exception):
    """An error this API answers with on purpose."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}


def error_body(
    status: int, message: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    kind = TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_response(exc: APIError) -> JSONResponse:
    return JSONResponse(error_body(exc.status, exc.message, exc.code, exc.param), exc.status, exc.headers)


def from_localgpt(exc: LocalGPTError) -> APIError:
    """Our error as an HTTP status; its message is the one line the CLI would print."""
    from localgpt.rag.prompt import PromptTooLongError

    message = str(exc)
    code = ExitCode(exc.exit_code).name.lower()
    if isinstance(exc, PromptTooLongError):
        return APIError(400, message, "context_length_exceeded", "messages")
    if isinstance(exc, ConfigError):
        return APIError(400, message, code)
    if isinstance(exc, NoIndexError):
        return APIError(404, message, code)
    if isinstance(exc, BusyError):
        return APIError(503, message, code, headers={"Retry-After": "5"})
    if isinstance(exc, ModelError):
        return APIError(503, message, code)
    if isinstance(exc, NetworkError):
        return APIError(502, message, code)
    return APIError(500, message, code)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api(_: Request, exc: APIError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(LocalGPTError)
    async def _ours(_: Request, exc: LocalGPTError) -> JSONResponse:
        return error_response(from_localgpt(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else None
        return JSONResponse(error_body(exc.status_code, str(exc.detail), code), exc.status_code)

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        log.error("internal error: %s: %s", type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
        message = f"internal error: {type(exc).__name__}: {exc}"
        return JSONResponse(error_body(500, message, "internal"), 500)


def validation_error(errors: Any) -> APIError:
    """The first problem, in one line: malformed JSON, a missing field or a wrong type."""
    first = dict(next(iter(errors), {}))
    if first.get("type") == "json_invalid":
        return APIError(400, "the request body is not valid JSON", "invalid_json")
    loc = [str(part) for part in first.get("loc", ()) if part != "body"]
    param = ".".join(loc) or None
    where = f"'{param}': " if param else ""
    return APIError(400, f"{where}{first.get('msg', 'invalid request')}", "invalid_request", param)
