"""paperspace-deploy: lint, build, push and deploy to Paperspace Deployments."""

__version__ = "0.1.0"
