package badconst

type Code string

const CodeA Code = "A"

const CodeAlias Code = CodeA
