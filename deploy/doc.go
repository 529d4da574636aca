// Package deploy tests the deployment files.
package deploy
