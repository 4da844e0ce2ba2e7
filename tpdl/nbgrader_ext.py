"""Additions to nbgrader, named in ``nbgrader_config.py``."""

from nbgrader.preprocessors import NbGraderPreprocessor


class ReduceTracebacks(NbGraderPreprocessor):
    """Shorten every error output to ``ename: evalue``, so feedback shows no hidden test code."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.enabled = True  # nbconvert skips a preprocessor that is not enabled

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
