"""A small sync Flask app for the --processes/--threads benchmark (the same file for every server)."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/")
def index():
    return jsonify(message="hello", items=list(range(10)))


application = app
