"""paperspace-deploy: lint, build, push and deploy to Paperspace Deployments."""

try:  # written by setup.py from the git tag at install/build time (docs/releasing.md)
    from paperspace_deploy._version import __version__
except ImportError:  # a source tree that was never installed
    __version__ = "0+unknown"
