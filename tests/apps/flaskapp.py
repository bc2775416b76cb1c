"""A plain Flask app, served unmodified: ``--module flaskapp:app --pythonpath tests/apps``."""

from flask import Flask, Response, jsonify, request, stream_with_context

app = Flask(__name__)


@app.route("/hello/<name>")
def hello(name):
    return "Hello, %s!" % name


@app.route("/form", methods=["POST"])
def form():
    return "form: " + ",".join("%s=%s" % (k, v) for k, v in sorted(request.form.items()))


@app.route("/json")
def as_json():
    return jsonify(framework="flask", numbers=[1, 2, 3], query=request.args.get("q"))


@app.route("/stream")
def stream():
    def generate():
        for i in range(3):
            yield "chunk %d\n" % i

    return Response(stream_with_context(generate()), mimetype="text/plain")
