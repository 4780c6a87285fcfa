"""What the deployment checks (scripts/check-terraform.py, scripts/check-kubernetes.py) share: failed
expectations collected and reported together, and the rule that every MYCLOTHES_ setting a deployment
gives the app is one the README documents."""

import sys


class Findings:
    def __init__(self, tool, readme_path):
        self.tool = tool
        with open(readme_path, encoding="utf-8") as file:
            self.readme = file.read()
        self.failures = []

    def expect(self, condition, what):
        if not condition:
            self.failures.append(what)

    def documented(self, settings):
        for setting in sorted(settings):
            self.expect(f"`{setting}`" in self.readme, f"{setting} is a setting the README documents")

    def report(self, summary):
        """Every failure, and exit 1 if there was one; else `summary`."""
        for failure in self.failures:
            print(f"[{self.tool}] FAILED: {failure}", file=sys.stderr)
        if self.failures:
            sys.exit(1)
        print(f"[{self.tool}] {summary}", file=sys.stderr)
