"""The OpenAPI 3.1 description of the service, written by hand and served at /openapi.json.

tests/test_service.py checks that every route of the app is described here and nothing else.
"""

from __future__ import annotations

from typing import Any

from mailwarden import __version__


def _json(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_ERRORS = {
    "401": _json("Error", "No token, or a token this service does not know"),
    "503": _json("Error", "The verdict log is locked, full or unavailable: nothing was written"),
    "504": _json("Error", "The request took longer than limits.request_timeout_s"),
}

_VERDICT_ID = {
    "name": "verdict_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mailwarden",
            "version": __version__,
            "description": (
                "Email attack detection: POST a raw RFC 5322 message, get an explained verdict. "
                "Every verdict is in the verdict log before the response is sent. Send "
                "`Authorization: Bearer <token>`; a token belongs to one tenant and sees only "
                "that tenant's verdicts."
            ),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _SCHEMAS,
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/scan": {
                "post": {
                    "summary": "Score one raw message",
                    "parameters": [
                        {
                            "name": "learn",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "boolean", "default": True},
                            "description": "Update the behavioral baselines (when configured).",
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "message/rfc822": {"schema": {"type": "string", "format": "binary"}},
                            "application/octet-stream": {
                                "schema": {"type": "string", "format": "binary"}
                            },
                        },
                    },
                    "responses": {
                        "200": _json("Verdict", "The verdict, durably logged"),
                        "413": _json("Error", "Body larger than limits.max_body_bytes"),
                        **_ERRORS,
                    },
                }
            },
            "/v1/scan/batch": {
                "post": {
                    "summary": "Score several messages (base64) in one request",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/BatchRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": _json("BatchResponse", "One verdict per message, in order"),
                        "400": _json("Error", "Not a JSON object of base64 messages"),
                        "413": _json("Error", "Body or message count over the limits"),
                        **_ERRORS,
                    },
                }
            },
            "/v1/feedback": {
                "post": {
                    "summary": "Mark a past verdict as a false positive or a missed attack",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/FeedbackRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": _json("Feedback", "The feedback, durably logged"),
                        "400": _json("Error", "Invalid feedback"),
                        "404": _json("Error", "No such verdict for this tenant"),
                        **_ERRORS,
                    },
                }
            },
            "/v1/verdicts/{verdict_id}": {
                "get": {
                    "summary": "A past verdict with its feedback",
                    "parameters": [_VERDICT_ID],
                    "responses": {
                        "200": _json("StoredVerdict", "The verdict as it was returned"),
                        "404": _json("Error", "No such verdict for this tenant"),
                        **_ERRORS,
                    },
                }
            },
            "/v1/verdicts/{verdict_id}/raw": {
                "get": {
                    "summary": "The raw message a verdict was made for (when raw storage is on)",
                    "parameters": [_VERDICT_ID],
                    "responses": {
                        "200": {
                            "description": "The message bytes",
                            "content": {"message/rfc822": {}},
                        },
                        "404": _json("Error", "No such verdict for this tenant, or not stored"),
                        **_ERRORS,
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness: the process answers",
                    "security": [],
                    "responses": {"200": _json("Status", "Alive")},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "Readiness: engines loaded and the verdict log writable",
                    "security": [],
                    "responses": {
                        "200": _json("Status", "Ready"),
                        "503": _json("Error", "Not ready, and why"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (text exposition format)",
                    "security": [],
                    "responses": {"200": {"description": "Metrics", "content": {"text/plain": {}}}},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {"description": "OpenAPI", "content": {"application/json": {}}}
                    },
                }
            },
        },
    }


_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {
            "error": {"type": "string", "description": "a stable code, e.g. log_disk_full"},
            "detail": {"type": "string"},
        },
    },
    "Status": {
        "type": "object",
        "properties": {"status": {"type": "string"}},
    },
    "Verdict": {
        "type": "object",
        "description": (
            "The verdict JSON of docs/verdict-schema.md (schema_version 1) with its `id` in the "
            "verdict log."
        ),
        "required": ["id", "schema_version", "verdict", "category", "action", "score"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "schema_version": {"type": "integer"},
            "verdict": {"enum": ["safe", "spam", "suspicious", "malicious"]},
            "category": {"type": "string"},
            "action": {"enum": ["allow", "tag", "quarantine", "reject"]},
            "score": {"type": "number"},
            "scores": {"type": "object", "additionalProperties": {"type": "number"}},
            "findings": {"type": "array", "items": {"type": "object"}},
            "defects": {"type": "array", "items": {"type": "string"}},
            "message_id": {"type": "string"},
            "subject": {"type": "string"},
            "from_addr": {"type": "string"},
            "tenant": {"type": "string"},
            "engine_version": {"type": "string"},
            "rules_version": {"type": "string"},
            "sha256": {"type": "string"},
            "elapsed_us": {"type": "integer"},
            "source": {"type": "string"},
            "extra": {"type": "object"},
        },
    },
    "StoredVerdict": {
        "allOf": [
            {"$ref": "#/components/schemas/Verdict"},
            {
                "type": "object",
                "properties": {
                    "received_at": {"type": "string", "format": "date-time"},
                    "raw_stored": {"type": "boolean"},
                    "feedback": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Feedback"},
                    },
                },
            },
        ]
    },
    "BatchRequest": {
        "type": "object",
        "required": ["messages"],
        "properties": {
            "messages": {
                "type": "array",
                "items": {"type": "string", "contentEncoding": "base64"},
            },
            "learn": {"type": "boolean", "default": True},
        },
    },
    "BatchResponse": {
        "type": "object",
        "properties": {
            "verdicts": {"type": "array", "items": {"$ref": "#/components/schemas/Verdict"}}
        },
    },
    "FeedbackRequest": {
        "type": "object",
        "required": ["verdict_id", "label"],
        "properties": {
            "verdict_id": {"type": "string"},
            "label": {"enum": ["false_positive", "missed_attack"]},
            "note": {"type": "string", "maxLength": 2000},
        },
    },
    "Feedback": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "verdict_id": {"type": "string"},
            "label": {"enum": ["false_positive", "missed_attack"]},
            "note": {"type": "string"},
            "token_name": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
}
