package standard

// One blank import per module package shipped with chainsts, sorted by path.
import (
	_ "github.com/chainsts/chainsts/modules/attributes"
	_ "github.com/chainsts/chainsts/modules/jwt"
	_ "github.com/chainsts/chainsts/modules/map"
	_ "github.com/chainsts/chainsts/modules/opaque"
	_ "github.com/chainsts/chainsts/modules/stsuu"
)
