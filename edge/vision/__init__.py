"""Finding and reading plates in an image: backends, detector, segmenter, geometry, pipeline."""
