"""Clinical knowledge: catalogs, units, analytes, drugs, conditions, formulas, dates."""
