"""The ceiling: a bare Flask app returning a constant TwiML document, no signature, no DB."""

from flask import Flask, Response

app = Flask(__name__)
TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/voice/next" input="dtmf speech">'
    '<Say language="en-GB">Press 1 for information, 2 to report a fault.</Say></Gather>'
    "<Redirect>/voice/next</Redirect></Response>"
)


@app.post("/voice/inbound")
@app.post("/voice/flow/<path:rest>")
def constant(rest: str = "") -> Response:
    return Response(TWIML, mimetype="text/xml")
