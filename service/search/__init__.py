"""A query's options and filters, the ranking, word similarity, risk levels and the
explanation heat maps.
"""
