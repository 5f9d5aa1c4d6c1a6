"""What a mark image is made into, for ingest and search alike: decoding and limits, figure
components, words (OCR), colour, the prepared inputs, metadata.
"""
