package standard

// One blank import per module package shipped with chainsts, sorted by path.
import (
	_ "github.com/chainsts/chainsts/modules/jwt"
	_ "github.com/chainsts/chainsts/modules/map"
)
