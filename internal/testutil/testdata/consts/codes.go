package consts

type Code string

type Other string

const (
	CodeA        Code  = "A"
	CodeB        Code  = `B.Raw`
	CodeC        Code  = "C \"quoted\""
	NotACode     Other = "other"
	untyped            = "untyped"
	CodeD, CodeE Code  = "D", "E"
)

const Single Code = "single"
