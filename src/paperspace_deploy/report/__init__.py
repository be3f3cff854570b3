"""Reporters: render findings and results as text, JSON, SARIF, GitLab or GitHub commands."""
