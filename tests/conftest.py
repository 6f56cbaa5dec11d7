"""Session-wide setup shared by every test level."""

# Imported before any test module, so jsii starts quiet and the AWS provider loads per resource even where a
# test module imports cdktf before anything of ours.
import modules  # noqa: F401
