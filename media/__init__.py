"""The image pipeline: sniffing uploads and making photo and avatar variants in workers."""
