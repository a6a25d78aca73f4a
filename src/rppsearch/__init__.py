"""rppsearch: a searchable, tagged research corpus on central office transformation."""

__version__ = "0.1.0"
