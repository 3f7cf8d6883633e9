"""exam_core: the product's shared code (deployed as the Lambda layer).

Layers, outermost first: ``http`` (Powertools resolver, error mapping) -> ``attempts`` (use cases)
-> pure domain modules (``blueprint``, ``bank``, ``assembly``, ``scoring``, ``results``) and
``store`` (the only module that talks to DynamoDB).
"""

__version__ = "0.1.0"
