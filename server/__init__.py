"""The Pixtrio server: configuration, CLI, HTTP edge and domain services."""
