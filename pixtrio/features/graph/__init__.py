"""The follow graph: who follows whom, as a viewer sees it."""
