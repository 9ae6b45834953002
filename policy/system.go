package policy

import "sync"

// SystemPolicy is a policy that the platform defines and every account can
// attach but none can change (RAM PolicyType "System").
type SystemPolicy struct {
	Name string
	// Description is the text RAM shows for the policy in ListPolicies and
	// GetPolicy.
	Description string
	Document    *Document
}

// System returns the document of the system policy with the given name;
// names are case-sensitive, as RAM's PolicyName is. The document is shared
// and immutable.
func System(name string) (*Document, bool) {
	for _, p := range systemCatalog() {
		if p.Name == name {
			return p.Document, true
		}
	}
	return nil, false
}

// SystemPolicies returns every system policy latchkey offers, in a fixed
// order: AdministratorAccess first, then by service. The slice is the
// caller's to keep; the documents are shared and immutable.
func SystemPolicies() []SystemPolicy {
	return append([]SystemPolicy(nil), systemCatalog()...)
}

// systemCatalog parses the system policy documents once, on first use; the
// result is never modified afterwards.
var systemCatalog = sync.OnceValue(func() []SystemPolicy {
	defs := systemDefinitions()
	out := make([]SystemPolicy, 0, len(defs))
	for _, def := range defs {
		doc, err := Parse([]byte(def.text))
		if err != nil {
			// The texts are constants checked by TestSystemPoliciesParse.
			panic("policy: system policy " + def.name + ": " + err.Error())
		}
		out = append(out, SystemPolicy{Name: def.name, Description: def.description, Document: doc})
	}
	return out
})

type systemDefinition struct {
	name, description, text string
}

// systemDefinitions lists the system policies of PRODUCT.md §4.
//
// Sources for the Alibaba documents:
//   - AdministratorAccess: the RAM system policy, one statement allowing
//     every action on every resource.
//   - AliyunECSFullAccess and AliyunECSReadOnlyAccess: ECS "System policies"
//     reference (alibabacloud.com/help/doc-detail/273911), verbatim.
//   - AliyunEHPCReadOnlyAccess: RAM developer reference
//     (alibabacloud.com/help/en/ram/developer-reference/aliyunehpcreadonlyaccess),
//     version v1, verbatim. It grants ehpc:Describe* and ehpc:List* but no
//     ehpc:Get*, so a read-only user cannot call GetVisualServiceStatus,
//     exactly as on Alibaba Cloud.
//   - AliyunEHPCFullAccess: its published body was not available; the
//     document grants ehpc:* on every resource, which is the part of it
//     that concerns the E-HPC API latchkey serves.
//
// BCCFullAccess and BCCReadOnlyAccess are latchkey's: BCC actions are named
// bcc:<Operation> (PRODUCT.md §4), and read-only means every bcc:Get* and
// bcc:List* operation.
func systemDefinitions() []systemDefinition {
	return []systemDefinition{
		{
			name:        "AdministratorAccess",
			description: "Provides full access to Alibaba Cloud services and resources.",
			text: `{
    "Statement": [
        {
            "Action": "*",
            "Effect": "Allow",
            "Resource": "*"
        }
    ],
    "Version": "1"
}`,
		},
		{
			name:        "AliyunECSFullAccess",
			description: "Provides full access to Elastic Compute Service(ECS) via Management Console.",
			text: `{
    "Version": "1",
    "Statement": [
        {
            "Action": "ecs:*",
            "Resource": "*",
            "Effect": "Allow"
        },
        {
            "Action": [
                "vpc:DescribeVpcs",
                "vpc:DescribeVSwitches"
            ],
            "Resource": "*",
            "Effect": "Allow"
        }
    ]
}`,
		},
		{
			name:        "AliyunECSReadOnlyAccess",
			description: "Provides read-only access to Elastic Compute Service(ECS) via Management Console.",
			text: `{
    "Version": "1",
    "Statement": [
        {
            "Action": "ecs:Describe*",
            "Resource": "*",
            "Effect": "Allow"
        },
        {
            "Action": "ecs:List*",
            "Resource": "*",
            "Effect": "Allow"
        },
        {
            "Action": [
                "vpc:DescribeVpcs",
                "vpc:DescribeVSwitches"
            ],
            "Resource": "*",
            "Effect": "Allow"
        }
    ]
}`,
		},
		{
			name:        "AliyunEHPCFullAccess",
			description: "Provides full access to E-HPC via Management Console.",
			text: `{
    "Version": "1",
    "Statement": [
        {
            "Action": "ehpc:*",
            "Resource": "*",
            "Effect": "Allow"
        }
    ]
}`,
		},
		{
			name:        "AliyunEHPCReadOnlyAccess",
			description: "Provides read-only access to E-HPC via Management Console.",
			text: `{
  "Version": "1",
  "Statement": [
    {
      "Action": [
        "ehpc:Describe*",
        "ehpc:List*",
        "ecs-workbench:LoginInstance"
      ],
      "Resource": "*",
      "Effect": "Allow"
    },
    {
      "Effect": "Allow",
      "Action": "ram:GetRole",
      "Resource": "acs:ram:*:*:role/AliyunECSInstanceForEHPCRole"
    },
    {
      "Action": "ram:CreateServiceLinkedRole",
      "Resource": "*",
      "Effect": "Allow",
      "Condition": {
        "StringEquals": {
          "ram:ServiceName": "workbench.ecs.aliyuncs.com"
        }
      }
    }
  ]
}`,
		},
		{
			name:        "BCCFullAccess",
			description: "Provides full access to Baidu Cloud Compute (BCC) instances.",
			text: `{
    "Version": "1",
    "Statement": [
        {
            "Action": "bcc:*",
            "Resource": "*",
            "Effect": "Allow"
        }
    ]
}`,
		},
		{
			name:        "BCCReadOnlyAccess",
			description: "Provides read-only access to Baidu Cloud Compute (BCC) instances.",
			text: `{
    "Version": "1",
    "Statement": [
        {
            "Action": [
                "bcc:Get*",
                "bcc:List*"
            ],
            "Resource": "*",
            "Effect": "Allow"
        }
    ]
}`,
		},
	}
}
