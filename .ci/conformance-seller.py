#!/usr/bin/env python3
"""A minimal underlying sales agent for the storefront conformance run: MCP (JSON-RPC over HTTP)
answering list_creative_formats with the formats the AdCP creative storyboards use. Standard
library only; listens on 127.0.0.1:$1."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AGENT = "https://your-platform.example.com"


def fmt(fid, name, renders, assets):
    return {"format_id": {"agent_url": AGENT, "id": fid}, "name": name, "renders": renders, "assets": assets}


def img(aid, w, h, required=True):
    return {"item_type": "individual", "asset_id": aid, "asset_type": "image", "required": required,
            "requirements": {"min_width": w, "max_width": w, "min_height": h, "max_height": h}}


FORMATS = [
    fmt("display_300x250", "Medium Rectangle 300x250",
        [{"role": "primary", "dimensions": {"width": 300, "height": 250}}],
        [img("image", 300, 250),
         {"item_type": "individual", "asset_id": "click_url", "asset_type": "url", "required": False}]),
    fmt("display_728x90", "Leaderboard 728x90",
        [{"role": "primary", "dimensions": {"width": 728, "height": 90}}],
        [img("image", 728, 90)]),
    fmt("video_30s", "Video 30s",
        [{"role": "primary", "dimensions": {"width": 1920, "height": 1080}}],
        [{"item_type": "individual", "asset_id": "video", "asset_type": "video", "required": True,
          "requirements": {"min_duration_ms": 30000, "max_duration_ms": 30000}}]),
    fmt("native_content", "Native content card",
        [{"role": "primary", "dimensions": {"width": 1200, "height": 628}}],
        [img("image", 1200, 628),
         {"item_type": "individual", "asset_id": "headline", "asset_type": "text", "required": True}]),
]

TOOLS = ["list_creative_formats", "get_adcp_capabilities"]


def result(req_id, value):
    return {"jsonrpc": "2.0", "id": req_id, "result": value}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        msg = json.loads(self.rfile.read(length) or b"{}")
        if "id" not in msg:
            self.send_response(202)
            self.end_headers()
            return
        method, params = msg.get("method"), msg.get("params") or {}
        if method == "initialize":
            answer = result(msg["id"], {"protocolVersion": params.get("protocolVersion", "2025-06-18"),
                                        "capabilities": {"tools": {}},
                                        "serverInfo": {"name": "conformance-seller", "version": "1"}})
        elif method == "tools/list":
            answer = result(msg["id"], {"tools": [{"name": t, "inputSchema": {"type": "object"}} for t in TOOLS]})
        elif method == "tools/call" and params.get("name") == "list_creative_formats":
            body = {"status": "completed", "formats": FORMATS}
            answer = result(msg["id"], {"content": [{"type": "text", "text": "formats"}], "structuredContent": body})
        elif method == "tools/call" and params.get("name") == "get_adcp_capabilities":
            body = {"status": "completed", "adcp": {"major_versions": [3], "idempotency": {"supported": False}},
                    "supported_protocols": ["media_buy"]}
            answer = result(msg["id"], {"content": [{"type": "text", "text": "caps"}], "structuredContent": body})
        else:
            answer = {"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32601, "message": "not here"}}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
