"""Scale-out: analyse a big music collection with Apache Spark, import the results.

:mod:`engine.distributed.spark_job` is the Spark job (``spark-submit`` or
``encore spark-analyze``); it needs the ``spark`` extra (pyspark, pyarrow).
:mod:`engine.distributed.importing` brings its Parquet output into a library
(``encore import-features``) and needs only pyarrow.

This package imports neither, so importing it stays cheap.
"""

#: The folders a Spark job writes under its output folder.
FEATURES_DIR = "features"
FAILURES_DIR = "failures"
