package bce

import (
	"errors"
	"testing"
)

// A body of the wrong JSON type as a whole names no field: the message is
// the row's own, not "field  has the wrong type" (found by the hostile
// suite in internal/hostile).
func TestDecodeBodyOfTheWrongType(t *testing.T) {
	row, _ := CodeInappropriateJSON.Row()
	for _, body := range []string{"[]", `"x"`, "123", "true"} {
		var v struct{ AdminPass string }
		var ae *APIError
		if err := decodeBody([]byte(body), &v); !errors.As(err, &ae) || ae.Code != CodeInappropriateJSON || ae.Message != row.Message {
			t.Errorf("body %s: got %v, want the InappropriateJSON row", body, err)
		}
	}
	var v struct {
		AdminPass string `json:"adminPass"`
	}
	var ae *APIError
	if err := decodeBody([]byte(`{"adminPass":1}`), &v); !errors.As(err, &ae) || ae.Message == row.Message {
		t.Errorf("a field of the wrong type: got %v, want a message naming it", err)
	}
}
